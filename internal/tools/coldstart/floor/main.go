// Command floor is the smallest Function Compute function the Go SDK makes:
// a handler that answers with its payload's length. `make coldstart` builds
// it with the functions' flags and times its cold start beside theirs, as the
// floor that any function on this runtime pays.
package main

import (
	"context"
	"encoding/json"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
)

func main() {
	fc.Start(func(_ context.Context, payload json.RawMessage) (int, error) {
		return len(payload), nil
	})
}
