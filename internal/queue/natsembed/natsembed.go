// Package natsembed runs a NATS server with JetStream inside the process:
// the local stack's broker and the tests'. It lives apart from internal/queue
// so that the functions, which only publish, never link the NATS server.
package natsembed

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultEmbeddedPort is the port the local stack's embedded NATS listens on.
// It is not NATS's usual 4222, so a NATS server already installed on the
// machine keeps its port and the two are never confused.
const DefaultEmbeddedPort = 4333

// EmbeddedOptions configures StartEmbedded.
type EmbeddedOptions struct {
	// Dir holds JetStream's files; required. The local stack passes
	// .vpngw/nats. Starting again on the same Dir finds the streams and
	// messages of the previous run.
	Dir string
	// Host to listen on; empty means 127.0.0.1.
	Host string
	// Port to listen on; 0 picks a free one (for tests). The local stack
	// passes DefaultEmbeddedPort.
	Port int
	// Logger receives the server's log lines; nil discards them.
	Logger *slog.Logger
	// MaxPayload is the largest message the server takes, in bytes; zero
	// means NATS's default, 1 MiB.
	MaxPayload int32
	// StartTimeout bounds the wait for the server to accept clients,
	// JetStream recovery included; zero means 10 s.
	StartTimeout time.Duration
}

// Embedded is a NATS server with JetStream running inside this process.
type Embedded struct {
	srv *server.Server
}

// StartEmbedded starts a NATS server with JetStream enabled and waits until it
// accepts clients.
func StartEmbedded(opts EmbeddedOptions) (*Embedded, error) {
	if opts.Dir == "" {
		return nil, errors.New("natsembed: StartEmbedded needs a Dir for JetStream's files")
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("natsembed: StartEmbedded: port %d is out of range", opts.Port)
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("natsembed: create NATS store directory: %w", err)
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := opts.Port
	if port == 0 {
		port = server.RANDOM_PORT // nats-server reads 0 as its default, 4222
	}
	if opts.Port != 0 {
		// nats-server only reports a busy port through its logger; probing
		// first turns the common mistake into a plain error.
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(opts.Port)))
		if err != nil {
			return nil, fmt.Errorf("natsembed: embedded NATS cannot listen: %w", err)
		}
		l.Close()
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "vpngw-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   opts.Dir,
		NoSigs:     true, // signals belong to the host process
		MaxPayload: opts.MaxPayload,
	})
	if err != nil {
		return nil, fmt.Errorf("natsembed: configure embedded NATS: %w", err)
	}
	if opts.Logger != nil {
		srv.SetLoggerV2(slogAdapter{opts.Logger.With("component", "nats-server")}, false, false, false)
	}
	srv.Start()
	if !srv.ReadyForConnections(timeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("natsembed: embedded NATS on %s did not accept clients within %s (is the port taken?)", net.JoinHostPort(host, strconv.Itoa(opts.Port)), timeout)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("natsembed: embedded NATS started without JetStream (store directory %s unusable?)", opts.Dir)
	}
	return &Embedded{srv: srv}, nil
}

// ClientURL returns the nats:// URL clients connect to.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Port returns the port the server listens on, useful after Port 0.
func (e *Embedded) Port() int {
	if a, ok := e.srv.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// Shutdown stops the server and waits until it has, so its port and store
// directory can be reused at once. Calling it twice is harmless.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// slogAdapter feeds nats-server's logger interface into slog. Fatalf logs an
// error instead of exiting: an embedded broker must not end its host.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
