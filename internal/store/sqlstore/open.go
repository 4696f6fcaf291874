package sqlstore

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/vpngw/vpngw/internal/redact"
	"github.com/vpngw/vpngw/internal/store/sqlstore/pgdriver"
)

// Defaults for the connection pool. They suit a function instance that serves
// a few invocations at a time: a database server gives every instance its own
// pool, so a large pool multiplied by many instances exhausts the server.
const (
	// DefaultMaxOpenConns caps open connections per Store.
	DefaultMaxOpenConns = 4
	// DefaultMaxIdleConns is how many idle connections are kept.
	DefaultMaxIdleConns = 2
	// DefaultConnMaxLifetime retires connections after this long in use.
	DefaultConnMaxLifetime = 10 * time.Minute
	// DefaultConnMaxIdleTime retires idle connections early: a frozen function
	// instance keeps its sockets while the server or a NAT in between may drop
	// them, and a thawed instance should dial fresh ones instead of failing on
	// dead ones.
	DefaultConnMaxIdleTime = time.Minute
	// DefaultConnectTimeout bounds dialling and authenticating a connection.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultBusyTimeout is how long an SQLite statement waits for a lock held
	// by another process (or another Store on the same file) before failing.
	DefaultBusyTimeout = 5 * time.Second
)

// Option tunes Open.
type Option func(*options)

type options struct {
	maxOpen         int
	maxIdle         int
	connMaxLifetime time.Duration
	connMaxIdleTime time.Duration
	connectTimeout  time.Duration
	busyTimeout     time.Duration
	migrate         bool
	now             func() time.Time
	caFile          string
	rootCAs         *x509.CertPool
}

func defaultOptions() options {
	return options{
		maxOpen:         DefaultMaxOpenConns,
		maxIdle:         DefaultMaxIdleConns,
		connMaxLifetime: DefaultConnMaxLifetime,
		connMaxIdleTime: DefaultConnMaxIdleTime,
		connectTimeout:  DefaultConnectTimeout,
		busyTimeout:     DefaultBusyTimeout,
		migrate:         true,
		now:             time.Now,
	}
}

// WithMaxOpenConns caps the open connections (default 4). On SQLite it caps
// the readers; writes always go through one connection.
func WithMaxOpenConns(n int) Option { return func(o *options) { o.maxOpen = n } }

// WithConnectTimeout bounds dialling and authenticating one connection
// (default 5s) unless the URL sets its own (connect_timeout for PostgreSQL,
// timeout for MySQL). Statements are bounded by their context.
func WithConnectTimeout(d time.Duration) Option { return func(o *options) { o.connectTimeout = d } }

// WithoutMigrate makes Open skip the schema migrations, so that it does not
// touch the database at all: connections are made on first use. Use it when a
// separate step runs Migrate, and to keep a cold start to zero round trips.
func WithoutMigrate() Option { return func(o *options) { o.migrate = false } }

// WithCA makes the server's certificate be verified against the CA bundle in
// file (PEM), whose certificates pool holds: on PostgreSQL it is the URL's
// sslrootcert unless the URL names one (so sslmode=require verifies the chain,
// as verify-ca does); on MySQL it is the root set of a URL's tls=true.
// Neither turns TLS on: the URL says whether to use it.
func WithCA(file string, pool *x509.CertPool) Option {
	return func(o *options) { o.caFile, o.rootCAs = file, pool }
}

// WithClock sets the clock for the times the store stamps itself (CreatedAt
// and UpdatedAt when the caller leaves them zero, UpdatedAt on Transition,
// sent_at on MarkSent). Claim takes its time as an argument instead.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Open connects to the store named by rawURL and, unless WithoutMigrate is
// given, brings its schema up to date. The scheme picks the backend:
//
//	sqlite://relative/path.db, sqlite:///absolute/path.db, sqlite::memory:
//	sqlite:///var/lib/vpngw.db?_synchronous=NORMAL     (extra driver parameters pass through)
//	postgres://user:pass@host:5432/db?sslmode=disable  (also postgresql://)
//	mysql://user:pass@host:3306/db?tls=true
//	mysql://user:pass@tcp(host:3306)/db?tls=true        (the driver's own DSN form)
//
// Errors name the backend, host and database but never the password.
//
// It returns the concrete type: a caller that needs only store.Store, or
// one of the ports the use cases declare, assigns it to that.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	return OpenSQL(ctx, rawURL, opts...)
}

// OpenSQL is Open, under the name it had when Open returned store.Store.
func OpenSQL(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		return nil, errors.New("store: WithClock(nil)")
	}
	if o.maxOpen < 1 {
		return nil, fmt.Errorf("store: max open connections must be at least 1, got %d", o.maxOpen)
	}

	var (
		s   *Store
		err error
	)
	switch scheme := schemeOf(rawURL); scheme {
	case "sqlite":
		s, err = openSQLite(rawURL, o)
	case "postgres", "postgresql":
		s, err = openPostgres(rawURL, o)
	case "mysql":
		s, err = openMySQL(rawURL, o)
	case "":
		return nil, errors.New("store: URL has no scheme; want sqlite://, postgres:// or mysql://")
	default:
		return nil, fmt.Errorf("store: unsupported scheme %q; want sqlite, postgres or mysql", scheme)
	}
	if err != nil {
		return nil, err
	}
	if o.migrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, redact.Error(err, s.secret)
		}
	}
	return s, nil
}

// Migrate opens the store at rawURL, applies any pending migrations and
// closes it: the body of a deploy-time migrate step.
func Migrate(ctx context.Context, rawURL string, opts ...Option) error {
	s, err := OpenSQL(ctx, rawURL, append(opts, WithoutMigrate())...)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Migrate(ctx)
}

func schemeOf(rawURL string) string {
	i := strings.Index(rawURL, ":")
	if i <= 0 {
		return ""
	}
	return strings.ToLower(rawURL[:i])
}

// sqliteLocked is set by package sqlstore/sqlite, whose import links the
// SQLite driver: nil in a binary that cannot open sqlite:// stores.
var sqliteLocked func(error) bool

// ErrSQLiteNotLinked is Open's error for a sqlite:// URL in a binary that
// does not import package sqlstore/sqlite: the function binaries.
var ErrSQLiteNotLinked = errors.New("store: sqlite:// is not linked into this binary (the function binaries take postgres:// or mysql://: an SQLite file lives in one instance, which no other instance reaches); the local stack, vpngwctl and tests link it by importing internal/store/sqlstore/sqlite")

// RegisterSQLite is called by package sqlstore/sqlite when it links the
// SQLite driver; locked tells SQLite's lock-timeout errors, which a
// transaction retries.
func RegisterSQLite(locked func(error) bool) { sqliteLocked = locked }

// SQLiteLinked reports whether this binary can open sqlite:// stores.
func SQLiteLinked() bool { return sqliteLocked != nil }

// openSQLite opens an SQLite file (or memory database).
//
// SQLite allows one writer at a time. Within the process, all writes go
// through a pool of exactly one connection, so concurrent writers queue in
// database/sql instead of racing for the file lock and failing with
// SQLITE_BUSY; every write transaction begins IMMEDIATE, so it holds the write
// lock from its first statement and never has to upgrade a read lock (which
// SQLite refuses with SQLITE_BUSY, busy_timeout or not). Readers use their own
// pool: in WAL mode they do not block the writer or each other. busy_timeout
// covers the remaining case, another process on the same file.
func openSQLite(rawURL string, o options) (*Store, error) {
	if sqliteLocked == nil {
		return nil, ErrSQLiteNotLinked
	}
	rest := rawURL[len("sqlite:"):]
	rest = strings.TrimPrefix(rest, "//")
	path, query, _ := strings.Cut(rest, "?")
	if path == "" {
		return nil, errors.New("store: sqlite URL has no file path; want sqlite://path/to/file.db or sqlite::memory: (in memory)")
	}
	memory := path == ":memory:"
	desc := "sqlite " + path

	params := url.Values{}
	if query != "" {
		extra, err := url.ParseQuery(query)
		if err != nil {
			return nil, fmt.Errorf("store: %s: parse query: %v", desc, err)
		}
		params = extra
	}
	params.Set("_busy_timeout", fmt.Sprint(o.busyTimeout.Milliseconds()))
	params.Set("_foreign_keys", "1")
	if !memory {
		params.Set("_journal_mode", "WAL")
	}
	writer := cloneValues(params)
	writer.Set("_txlock", "immediate")
	// Every commit waits for the disk (FULL: the write-ahead log is synced
	// at each commit) unless the URL chose otherwise; MarkSentFor alone
	// commits without the wait (inLaxTx).
	lax := !memory && !setsSynchronous(params)
	if lax {
		writer.Set("_synchronous", "FULL")
	}

	wdb, err := sql.Open("sqlite", path+"?"+writer.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %v", desc, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	rdb := wdb
	if memory {
		// A memory database lives and dies with its one connection, so that
		// connection must never be closed for idleness or age, and readers
		// must share it.
		wdb.SetConnMaxLifetime(0)
		wdb.SetConnMaxIdleTime(0)
	} else {
		wdb.SetConnMaxIdleTime(o.connMaxIdleTime)
		wdb.SetConnMaxLifetime(o.connMaxLifetime)
		rdb, err = sql.Open("sqlite", path+"?"+params.Encode())
		if err != nil {
			wdb.Close()
			return nil, fmt.Errorf("store: open %s: %v", desc, err)
		}
		configurePool(rdb, o)
		// Every reader the pool opens is kept while it is used: an idle
		// SQLite connection holds no server's resources, only its file
		// descriptors and page cache, whereas a new one opens the files,
		// reads and parses the whole schema and prepares each cached
		// statement again. With two kept of four, requests in flight
		// together closed and reopened readers all the time.
		rdb.SetMaxIdleConns(o.maxOpen)
	}
	s := newStore(sqliteDialect, desc, wdb, rdb, o)
	s.laxSQLite = lax
	return s, nil
}

// setsSynchronous reports whether SQLite URL parameters set the
// synchronous pragma, by its parameter or through _pragma.
func setsSynchronous(params url.Values) bool {
	if params.Has("_synchronous") || params.Has("_sync") {
		return true
	}
	for _, p := range params["_pragma"] {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(p)), "synchronous") {
			return true
		}
	}
	return false
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// openPostgres opens PostgreSQL through package pgdriver, a database/sql
// driver over pgx's wire layer (pgconn): database/sql rather than a pool of
// pgx's own because the three backends then share one implementation
// (statements, transactions, pool limits). Every statement is one round
// trip, its first run on a connection included (it is prepared on the
// way). Behind a transaction-mode pooler, add default_query_exec_mode=exec
// to the URL: then nothing is kept prepared.
func openPostgres(rawURL string, o options) (*Store, error) {
	desc := describePostgresURL(rawURL)
	if o.caFile != "" {
		rawURL = withPostgresRootCert(rawURL, o.caFile)
	}
	cfg, err := pgdriver.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: %s: invalid connection URL (check its syntax and parameters): %s",
			desc, redact.String(parseProblem(err), urlSecrets(rawURL)...))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = o.connectTimeout
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		// Lets an operator tell vpngw's sessions apart in pg_stat_activity.
		cfg.RuntimeParams["application_name"] = "vpngw"
	}
	desc = fmt.Sprintf("postgres %s/%s", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), cfg.Database)
	conn, err := pgdriver.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %v", desc, err)
	}
	db := sql.OpenDB(conn)
	configurePool(db, o)
	s := newStore(postgresDialect, desc, db, db, o)
	s.secret = cfg.Password
	return s, nil
}

// withPostgresRootCert adds sslrootcert=file to a postgres:// URL that names
// no root certificate. Other forms (keyword=value strings) are left as they
// are.
func withPostgresRootCert(rawURL, file string) string {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return rawURL
	}
	q := u.Query()
	if q.Get("sslrootcert") != "" {
		return rawURL
	}
	q.Set("sslrootcert", file)
	u.RawQuery = q.Encode()
	return u.String()
}

// parseProblem says what was wrong with a connection string without
// repeating it: pgconn quotes the string (masking passwords only on a
// best-effort basis) and url.Error repeats it whole.
func parseProblem(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return quoted.ReplaceAllString(err.Error(), "`…`")
}

var quoted = regexp.MustCompile("`[^`]*`")

// describePostgresURL names host and database from a URL that may not parse.
func describePostgresURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return "postgres"
	}
	return "postgres " + u.Host + u.Path
}

// urlSecrets returns what may be the password in rawURL: the parsed one
// and, for URLs too malformed to parse, the text between the first ':' of the
// user part and the last '@'.
func urlSecrets(rawURL string) []string {
	var out []string
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return out
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if _, p, ok := strings.Cut(rest[:at], ":"); ok && p != "" {
			out = append(out, p)
		}
	}
	return out
}

// dsnAddress spots the driver's own DSN form, whose address is written as
// net(addr) and followed by the slash before the database name.
var dsnAddress = regexp.MustCompile(`(^|@)[a-z0-9]+\([^()]*\)/`)

// openMySQL opens MySQL or MariaDB with go-sql-driver/mysql.
func openMySQL(rawURL string, o options) (*Store, error) {
	cfg, desc, err := mysqlDriverConfig(rawURL, o)
	if err != nil {
		return nil, err
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %s", desc, redact.String(err.Error(), cfg.Passwd))
	}
	db := sql.OpenDB(conn)
	configurePool(db, o)
	s := newStore(mysqlDialect, desc, db, db, o)
	s.secret = cfg.Passwd
	return s, nil
}

// mysqlDriverConfig is the driver configuration for rawURL, with the
// settings the store relies on forced whatever the URL says, and the
// description errors use.
func mysqlDriverConfig(rawURL string, o options) (*mysql.Config, string, error) {
	cfg, password, err := mysqlConfig(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("store: mysql: invalid connection URL (check its syntax and parameters): %s",
			redact.String(parseProblem(err), append(urlSecrets(rawURL), password)...))
	}
	desc := fmt.Sprintf("mysql %s(%s)/%s", cfg.Net, cfg.Addr, cfg.DBName)
	if cfg.DBName == "" {
		return nil, "", fmt.Errorf("store: %s: URL names no database", desc)
	}
	// Times are stored as DATETIME(6) in UTC and scanned into time.Time.
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// RowsAffected then counts matched rows, as PostgreSQL and SQLite do:
	// Transition tells "no such row or wrong state" from "matched" by it.
	cfg.ClientFoundRows = true
	// Migrations are split into statements here; never let a parameter smuggle
	// a second statement in.
	cfg.MultiStatements = false
	if cfg.Timeout == 0 {
		cfg.Timeout = o.connectTimeout
	}
	if o.rootCAs != nil && cfg.TLS != nil && !cfg.TLS.InsecureSkipVerify {
		// tls=true: verify against the shipped CA bundle instead of the
		// system's roots. The driver fills in ServerName from the address.
		t := cfg.TLS.Clone()
		t.RootCAs = o.rootCAs
		cfg.TLS = t
	}
	if _, set := mysqlParamSet(rawURL, "interpolateParams"); !set {
		// One round trip per statement instead of prepare, execute and close.
		// The driver escapes for the connection's charset (utf8mb4 here) and
		// refuses charsets where that would be unsafe.
		cfg.InterpolateParams = true
	}
	return cfg, desc, nil
}

// MySQLDriverConfig is the driver configuration a mysql:// URL opens with,
// as the store would open it without a CA bundle: what checks of the URL's
// TLS must read, since the driver lets the last of repeated parameters win.
func MySQLDriverConfig(rawURL string) (*mysql.Config, error) {
	cfg, _, err := mysqlDriverConfig(rawURL, options{})
	return cfg, err
}

// mysqlConfig accepts both mysql://user:pass@host:port/db?params and the
// driver's DSN behind the scheme, mysql://user:pass@tcp(host:port)/db?params.
// It returns the password so that errors can be scrubbed of it.
func mysqlConfig(rawURL string) (*mysql.Config, string, error) {
	rest := rawURL[len("mysql:"):]
	rest = strings.TrimPrefix(rest, "//")
	if dsnAddress.MatchString(rest) {
		cfg, err := mysql.ParseDSN(rest)
		if err != nil {
			return nil, "", err
		}
		return cfg, cfg.Passwd, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", err
	}
	cfg := mysql.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	if u.Host == "" {
		return nil, cfg.Passwd, errors.New("no host")
	}
	if strings.ContainsAny(u.Host, "()") {
		return nil, cfg.Passwd, errors.New("address is neither host:port nor net(address) followed by /database")
	}
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = net.JoinHostPort(u.Hostname(), "3306")
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if u.RawQuery != "" {
		// Let the driver interpret its parameters (tls, charset, timeouts,
		// system variables) exactly as in its DSN form.
		dsn := cfg.FormatDSN()
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		parsed, err := mysql.ParseDSN(dsn + sep + u.RawQuery)
		if err != nil {
			return nil, cfg.Passwd, err
		}
		return parsed, cfg.Passwd, nil
	}
	return cfg, cfg.Passwd, nil
}

// mysqlParamSet reports whether the URL's query sets name.
func mysqlParamSet(rawURL, name string) (string, bool) {
	i := strings.LastIndex(rawURL, "?")
	if i < 0 {
		return "", false
	}
	q, err := url.ParseQuery(rawURL[i+1:])
	if err != nil {
		return "", false
	}
	v, ok := q[name]
	if !ok || len(v) == 0 {
		return "", ok
	}
	return v[0], true
}

func configurePool(db *sql.DB, o options) {
	db.SetMaxOpenConns(o.maxOpen)
	db.SetMaxIdleConns(min(o.maxIdle, o.maxOpen))
	db.SetConnMaxLifetime(o.connMaxLifetime)
	db.SetConnMaxIdleTime(o.connMaxIdleTime)
}

// Warm makes n connections at once (at most as many as the pool keeps
// idle) and leaves them idle in the pool: the ones a function's first
// invocation asks for, made in parallel while the process starts instead
// of one by one while the invocation waits (its drain reads the outbox for
// every sink at once, each on a connection of its own). SQLite has nothing
// to dial: there it does nothing. It returns the first error, once every
// connection it made is back in the pool.
func (s *Store) Warm(ctx context.Context, n int) error {
	if s.d.kind == "sqlite" {
		return nil
	}
	n = min(n, s.maxIdle)
	conns := make([]*sql.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			conns[i], errs[i] = s.wdb.Conn(ctx)
		})
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return redact.Error(fmt.Errorf("store: connect to %s: %w", s.desc, err), s.secret)
	}
	return nil
}
