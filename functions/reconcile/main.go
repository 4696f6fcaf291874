// Command reconcile is the reconcile function: on each timer tick it checks
// the pending gateways and announces the ones that are ready or have failed.
package main

import "github.com/vpngw/vpngw/internal/app"

func main() {
	app.RunFunction("reconcile", (*app.App).ReconcileHandler)
}
