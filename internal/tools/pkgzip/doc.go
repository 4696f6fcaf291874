// Command pkgzip writes the deployment zip of a function: the same input
// files always give the same bytes, so that a package's checksum says whether
// its code changed, and a redeploy of an unchanged build uploads nothing new.
//
// Usage:
//
//	pkgzip -o dist/provision.zip dist/provision/provision
//	pkgzip -o dist/lambda/provision.zip dist/provision/provision=bootstrap
//
// Each argument is a file to include, optionally followed by "=NAME" to store
// it under another name (AWS Lambda's custom runtime runs a file called
// bootstrap). Entries are sorted by name and carry a fixed modification time
// (1980-01-01 00:00:00 UTC, the earliest a zip can hold) and a fixed mode:
// 0755 when the source file is executable by its owner, 0644 otherwise. The
// file's own time, owner and permissions beyond that never reach the zip.
//
// The Makefile's package and package-lambda targets run it; nothing imports
// it.
package main
