package fcapi_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/vpngw/vpngw/internal/runtime/fcapi"
)

// poll asks for the next invocation as the function's SDK does, on a
// connection of its own, and returns its payload ("" when none came).
func poll(ctx context.Context, url string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ""
	}
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}

// A killed instance's poll for the next invocation may still be open when
// the next invocation is queued (the server has not yet read that its
// connection is gone, which a loaded machine delays): that invocation goes
// to the restarted instance, as the platform would hand it to a live one,
// not to the dead poll, where no one would answer it.
func TestInvocationAfterARestartGoesToTheRestartedInstance(t *testing.T) {
	s, err := fcapi.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	next := "http://" + s.Addr() + "/2020-11-11/runtime/invocation/next"

	// The killed instance's poll, its connection not yet seen closed.
	deadCtx, dead := context.WithCancel(context.Background())
	defer dead()
	deadGot := make(chan string, 1)
	go func() { deadGot <- poll(deadCtx, next) }()
	for end := time.Now().Add(10 * time.Second); s.Polls() != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the first poll never reached the server (%d polls open)", s.Polls())
		}
	}
	s.InstanceRestarted()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		_, _ = s.Invoke(ctx, fcapi.Invocation{Payload: []byte(`{"n":1}`), Timeout: time.Second})
	}()
	// The restarted instance polls.
	if got := poll(ctx, next); got != `{"n":1}` {
		dead()
		t.Fatalf("the restarted instance's poll got %q, want the invocation queued after the restart; the killed instance's poll got %q", got, <-deadGot)
	}
}
