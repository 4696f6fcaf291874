// Package app is vpngw's composition root: it reads the configuration from
// the environment once, validates it with errors that name the variable, and
// builds the store, the queue publisher, the VPC API client and the use cases
// that every function and the local stack share. functions/*/main.go and
// deploy/local call it and nothing else of vpngw's internals.
package app
