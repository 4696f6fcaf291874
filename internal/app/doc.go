// Package app is vpngw's composition root: it reads the configuration from
// the environment once, through one table of variables (Vars), validates it
// with errors that name the variable, opens the store and the queue
// publisher, builds the VPC API client and the use cases, and wires them to
// the edges of internal/runtime. functions/*/main.go call RunFunction and
// nothing else of vpngw's internals; the local stack (internal/localstack)
// builds on New.
package app
