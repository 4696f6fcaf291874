// Command coldstart measures what a cold start of each packaged function
// costs: the size of its zip and binary, the time from process start to the
// first invocation answered, the CPU time the process used until then (which,
// unlike the wall-clock time, does not grow when other work shares the
// machine), and the peak resident memory (VmHWM) after a few warm
// invocations.
//
// It runs each binary from dist/ exactly as Function Compute does: started
// with FC_RUNTIME_API pointing at a runtime API server in this process
// (internal/runtime/fcapi), which hands it invocations. Each run's binary
// gets a store of its own, migrated beforehand, with VPNGW_MIGRATE=off as
// functions run in production (-fresh: an empty store it migrates): with
// -store postgres://..., a fresh schema on that server (the shipped binaries
// link no SQLite; make coldstart passes VPNGW_TEST_POSTGRES_URL), without it
// an SQLite file in a temporary directory (for binaries built with -tags
// sqlite). The binaries publish to the log: queue (with
// VPNGW_ALLOW_INSECURE_TRANSPORT=1, which both need), and each first invocation needs no VPC API call: provision gets
// a request that fails validation (recorded and announced, never sent),
// reconcile a timer tick with nothing pending, and webhook an unsigned HTTP
// request (refused before it is read). So the figure is the process's
// own start-up (runtime, configuration, policy, the store's schema check, or
// with -fresh its migration) plus one round trip,
// with nothing outside the machine involved.
//
// What it leaves out, and what Function Compute adds on top: downloading and
// unpacking the zip, starting the instance, and the first connections to a
// remote store and broker; the store here is a server on the same machine,
// and the log: queue makes no connection.
//
// With -floor it also times the smallest function fc-runtime-go-sdk makes
// (package floor: a handler that answers with its payload's length, built
// with the functions' flags), one run of it after each round of the
// functions, and reports each function's median against the floor's: what
// the runtime costs any Go function, and what vpngw adds.
//
// Usage, after `make package`:
//
//	go run ./internal/tools/coldstart -dist dist -n 20 provision reconcile
//
// `make coldstart` runs it for every function of the Makefile's FUNCTIONS,
// with the floor.
// Nothing imports it.
package main
