// Command provision is the provision function: it turns each gateway request
// event into a VPN gateway, on Function Compute or AWS Lambda.
package main

import "github.com/vpngw/vpngw/internal/app"

func main() {
	app.RunFunction("provision", (*app.App).ProvisionHandler)
}
