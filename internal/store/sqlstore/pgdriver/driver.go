package pgdriver

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Config is a parsed connection string: pgconn's configuration and how
// statements are sent.
type Config struct {
	*pgconn.Config
	// StatementCacheCapacity is how many statements each connection keeps
	// prepared; 0 prepares none: every statement is parsed and planned
	// anew, on the unnamed statement, which is what a transaction-mode
	// pooler that does not track prepared statements needs.
	StatementCacheCapacity int
}

// ParseConfig is pgconn.ParseConfig (URL and keyword=value forms, sslmode
// and the other TLS settings, the PG* environment variables, passfile) with
// what this driver relies on: DateStyle set to ISO, the form in which the
// driver reads dates and times; and pgx's own parameters read as pgx reads
// them: statement_cache_capacity (default 512), and default_query_exec_mode,
// where exec, simple_protocol and describe_exec keep no statement prepared
// and cache_statement and cache_describe (the default) do.
func ParseConfig(connString string) (*Config, error) {
	pc, err := pgconn.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	cfg := &Config{Config: pc, StatementCacheCapacity: DefaultStatementCacheCapacity}
	params := pc.RuntimeParams
	if v, ok := params["statement_cache_capacity"]; ok {
		delete(params, "statement_cache_capacity")
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("pgdriver: statement_cache_capacity=%q: want a whole number, 0 or more", v)
		}
		cfg.StatementCacheCapacity = n
	}
	delete(params, "description_cache_capacity")
	if v, ok := params["default_query_exec_mode"]; ok {
		delete(params, "default_query_exec_mode")
		switch v {
		case "cache_statement", "cache_describe":
		case "exec", "simple_protocol", "describe_exec":
			cfg.StatementCacheCapacity = 0
		default:
			return nil, fmt.Errorf("pgdriver: default_query_exec_mode=%q: want cache_statement, cache_describe, describe_exec, exec or simple_protocol", v)
		}
	}
	for k := range params {
		if strings.EqualFold(k, "datestyle") {
			delete(params, k)
		}
	}
	params["datestyle"] = "ISO"
	return cfg, nil
}

// DefaultPingIdle is how long a pooled connection may have been idle
// before it is pinged when it is next taken: pgx's rule.
const DefaultPingIdle = time.Second

// Connector makes connections from one parsed configuration. It is what
// sql.OpenDB takes.
type Connector struct {
	cfg      *Config
	pingIdle time.Duration
}

// NewConnector returns a Connector for cfg, which must come from
// ParseConfig. The connector keeps cfg: do not change it afterwards.
func NewConnector(cfg *Config) (*Connector, error) {
	if cfg == nil || cfg.Config == nil {
		return nil, errors.New("pgdriver: nil config")
	}
	return &Connector{cfg: cfg, pingIdle: DefaultPingIdle}, nil
}

// Connect dials, negotiates TLS as the configuration says, authenticates
// and returns the session. Its errors are pgconn's (*pgconn.ConnectError),
// which name the host, user and database but not the password.
func (c *Connector) Connect(ctx context.Context) (driver.Conn, error) {
	pg, err := pgconn.ConnectConfig(ctx, c.cfg.Config)
	if err != nil {
		return nil, err
	}
	var stmts *stmtCache
	if c.cfg.StatementCacheCapacity > 0 {
		stmts = newStmtCache(c.cfg.StatementCacheCapacity)
	}
	// A connection's idle time counts from when it was made: pgx counted
	// it from the zero time, so the second statement of every new
	// connection (the first statements of a cold start among them) waited
	// for a ping.
	return &conn{pg: pg, stmts: stmts, pingIdle: c.pingIdle, lastReset: time.Now()}, nil
}

// Driver returns the driver the connector belongs to.
func (c *Connector) Driver() driver.Driver { return Driver{} }

// Driver opens connections from a connection string; Connector is the
// usual way in, with the string parsed once.
type Driver struct{}

// Open parses name and connects.
func (d Driver) Open(name string) (driver.Conn, error) {
	c, err := d.OpenConnector(name)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

// OpenConnector parses name once for every connection of a pool.
func (Driver) OpenConnector(name string) (driver.Connector, error) {
	cfg, err := ParseConfig(name)
	if err != nil {
		return nil, err
	}
	return NewConnector(cfg)
}

// ErrTxCommitRollback is Commit's error when the server rolled the
// transaction back instead (a statement in it had failed).
var ErrTxCommitRollback = errors.New("pgdriver: commit unexpectedly resulted in rollback")

type conn struct {
	pg        *pgconn.PgConn
	stmts     *stmtCache // nil: nothing kept prepared
	pingIdle  time.Duration
	lastReset time.Time
	args      encoder
}

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
)

// fail turns an error that struck before the statement reached the server
// (the connection was already broken) into driver.ErrBadConn, so that
// database/sql runs the statement again on another connection.
func fail(err error) error {
	if pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return err
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.pg.IsClosed() {
		return nil, driver.ErrBadConn
	}
	if len(args) == 0 {
		// The simple protocol, as pgx does without arguments: one round
		// trip, and the text may hold several statements.
		results, err := c.pg.Exec(ctx, query).ReadAll()
		if err != nil {
			return nil, fail(err)
		}
		var n int64
		if len(results) > 0 {
			n = results[len(results)-1].CommandTag.RowsAffected()
		}
		return driver.RowsAffected(n), nil
	}
	rr, p, err := c.send(ctx, query, args)
	if err != nil {
		return nil, err
	}
	tag, err := c.finish(rr, p)
	if err != nil {
		return nil, fail(err)
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.pg.IsClosed() {
		return nil, driver.ErrBadConn
	}
	rr, p, err := c.send(ctx, query, args)
	if err != nil {
		return nil, err
	}
	// The first row is read here, as pgx's adapter does, so that an error
	// the statement meets at once is QueryContext's.
	more := rr.NextRow()
	fields := rr.FieldDescriptions()
	r := newRows(c, rr, p, fields, more)
	if !more {
		if err := r.Close(); err != nil {
			return nil, fail(err)
		}
	}
	return r, nil
}

// send encodes args and starts query with them (start).
func (c *conn) send(ctx context.Context, query string, args []driver.NamedValue) (*pgconn.ResultReader, *pgconn.Pipeline, error) {
	values, formats, err := c.args.encode(args)
	if err != nil {
		return nil, nil, err
	}
	rr, p, err := c.start(ctx, query, values, formats)
	if err != nil {
		return nil, nil, fail(err)
	}
	return rr, p, nil
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext costs no round trip: the statement runs as any other
// when it is executed, prepared on the way by its first run.
func (c *conn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	if c.pg.IsClosed() {
		return nil, driver.ErrBadConn
	}
	return &stmt{c: c, query: query}, nil
}

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction with the isolation level and access mode
// as BEGIN's options, in the one round trip of BEGIN.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.pg.IsClosed() {
		return nil, driver.ErrBadConn
	}
	q := "BEGIN"
	switch level := sql.IsolationLevel(opts.Isolation); level {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		q += " ISOLATION LEVEL READ UNCOMMITTED"
	case sql.LevelReadCommitted:
		q += " ISOLATION LEVEL READ COMMITTED"
	case sql.LevelRepeatableRead, sql.LevelSnapshot:
		q += " ISOLATION LEVEL REPEATABLE READ"
	case sql.LevelSerializable:
		q += " ISOLATION LEVEL SERIALIZABLE"
	default:
		return nil, fmt.Errorf("pgdriver: isolation level %v is not one PostgreSQL has", level)
	}
	if opts.ReadOnly {
		q += " READ ONLY"
	}
	if _, err := c.pg.Exec(ctx, q).ReadAll(); err != nil {
		return nil, fail(err)
	}
	return tx{c: c}, nil
}

// Ping runs an empty statement. A connection that fails it is closed and
// reported bad, so that database/sql drops it.
func (c *conn) Ping(ctx context.Context) error {
	if c.pg.IsClosed() {
		return driver.ErrBadConn
	}
	if err := c.pg.Ping(ctx); err != nil {
		_ = c.Close()
		return driver.ErrBadConn
	}
	return nil
}

// ResetSession runs before database/sql hands a pooled connection out
// again: one left inside a transaction is dropped, and one idle for more
// than pingIdle since it was last handed out (or made) is pinged first.
func (c *conn) ResetSession(ctx context.Context) error {
	if c.pg.IsClosed() {
		return driver.ErrBadConn
	}
	if c.pg.TxStatus() != 'I' {
		return driver.ErrBadConn
	}
	now := time.Now()
	idle := now.Sub(c.lastReset)
	c.lastReset = now
	if idle > c.pingIdle {
		if err := c.pg.Ping(ctx); err != nil {
			return driver.ErrBadConn
		}
	}
	return nil
}

func (c *conn) IsValid() bool { return !c.pg.IsClosed() }

func (c *conn) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.pg.Close(ctx)
}

type tx struct{ c *conn }

func (t tx) Commit() error {
	results, err := t.c.pg.Exec(context.Background(), "COMMIT").ReadAll()
	if err != nil {
		return err
	}
	if len(results) == 1 && results[0].CommandTag.String() == "ROLLBACK" {
		return ErrTxCommitRollback
	}
	return nil
}

func (t tx) Rollback() error {
	if t.c.pg.IsClosed() {
		return driver.ErrBadConn
	}
	_, err := t.c.pg.Exec(context.Background(), "ROLLBACK").ReadAll()
	return err
}

// stmt is a statement database/sql asked to prepare: it runs as the
// connection's ExecContext and QueryContext do.
type stmt struct {
	c     *conn
	query string
}

var (
	_ driver.StmtExecContext  = (*stmt)(nil)
	_ driver.StmtQueryContext = (*stmt)(nil)
)

func (s *stmt) Close() error  { return nil }
func (s *stmt) NumInput() int { return -1 }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.c.ExecContext(ctx, s.query, args)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.c.QueryContext(ctx, s.query, args)
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}
