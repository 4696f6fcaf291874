package events

import "embed"

// Samples holds the sample events, as structured CloudEvents in JSON, under
// testdata/: one per event type, named after the type
// (testdata/io.vpngw.gateway.accepted.json), and requests as they really
// arrive: testdata/requested.json (the minimal request the local stack
// sends), requested-eventbridge.json (an EventBridge delivery),
// requested-base64.json (data_base64), requested-invalid.json (a request
// that breaks several rules), and requested-invalid-tags.json (61 rules)
// with its answer failed-errors-omitted.json (50 errors and a count). Tests and the local stack read them from here,
// so that there is one copy.
//
//go:embed testdata/*.json
var Samples embed.FS

// Schemas holds the JSON Schemas (draft 2020-12) of the data of every event
// type, as schemas/<type>.schema.json.
//
//go:embed schemas/*.schema.json
var Schemas embed.FS
