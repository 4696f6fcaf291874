// Package events is vpngw's event contract: the CloudEvents types it accepts and
// emits, the Go types of their data (one file per type), JSON Schemas of that
// data (schemas/, embedded as Schemas) and sample events (testdata/, embedded
// as Samples) that tests and the local stack reuse. README.md describes the
// contract: attributes, id rules, request rules and the ClientToken.
//
// It is a plain data package: anything that produces or consumes vpngw events
// may import it; of vpngw's it imports only internal/textcut, the cut of a
// string at a character boundary, which imports only the standard library.
package events
