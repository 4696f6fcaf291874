package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"

	"github.com/vpngw/vpngw/internal/outgoing"
)

func init() {
	Register("log", openLog)
	Register("stdout", openLog)
	Register("stderr", openLog)
}

// LogPublisher writes each message as one JSON line, for running without a
// broker: {"id":…,"type":…,"event":{…the CloudEvent…}}. A body that is not
// JSON is written as the string "body" instead of "event". A write error is a
// failed publish.
type LogPublisher struct {
	mu     sync.Mutex
	w      io.Writer
	closed bool
}

var _ Publisher = (*LogPublisher)(nil)

// NewLogPublisher returns a LogPublisher writing to w, which it does not
// close.
func NewLogPublisher(w io.Writer) (*LogPublisher, error) {
	if w == nil {
		return nil, fmt.Errorf("queue: NewLogPublisher: nil writer")
	}
	return &LogPublisher{w: w}, nil
}

// openLog serves log: and stdout: (standard output) and stderr: or
// log:stderr (standard error).
func openLog(_ context.Context, u *url.URL) (Publisher, error) {
	target := u.Scheme
	if u.Scheme == "log" {
		// log:stderr is opaque; log://stderr has a host; log:/x a path.
		target = u.Opaque + u.Host + u.Path
	}
	switch target {
	case "", "stdout":
		return NewLogPublisher(os.Stdout)
	case "stderr":
		return NewLogPublisher(os.Stderr)
	}
	return nil, fmt.Errorf("log publisher writes to stdout or stderr, not %q", target)
}

type logLine struct {
	ID    string          `json:"id"`
	Type  string          `json:"type"`
	Event json.RawMessage `json:"event,omitempty"`
	Body  string          `json:"body,omitempty"`
}

// Publish writes m as one line.
func (p *LogPublisher) Publish(ctx context.Context, m outgoing.Event) error {
	if err := checkPublish(ctx, m); err != nil {
		return err
	}
	line := logLine{ID: m.ID, Type: m.Type}
	if json.Valid(m.Body) {
		line.Event = m.Body
	} else {
		line.Body = string(m.Body)
	}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("publish %s: encode log line: %w", m.ID, err)
	}
	b = append(b, '\n')
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("publish %s: %w", m.ID, ErrClosed)
	}
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("publish %s: write log line: %w", m.ID, err)
	}
	return nil
}

// Close stops further publishing; the writer stays open.
func (p *LogPublisher) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}
