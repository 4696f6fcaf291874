package sqlstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSplitStatements(t *testing.T) {
	body := `-- leading comment
CREATE TABLE a (
    x INT, -- trailing comments stay inside the statement
    -- a whole-line comment inside is dropped
    y INT
);

CREATE INDEX a_x ON a (x);
INSERT INTO a VALUES (1, 2)`
	got := splitStatements(body)
	want := []string{
		"CREATE TABLE a (\n    x INT, -- trailing comments stay inside the statement\n    y INT\n)",
		"CREATE INDEX a_x ON a (x)",
		"INSERT INTO a VALUES (1, 2)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("splitStatements =\n%q\nwant\n%q", got, want)
	}
}

func TestMigrationsLoad(t *testing.T) {
	for _, d := range []*dialect{sqliteDialect, postgresDialect, mysqlDialect} {
		ms, err := d.migrations()
		if err != nil {
			t.Fatalf("%s: %v", d.kind, err)
		}
		if len(ms) == 0 || ms[0].version != 1 || len(ms[0].statements) < 2 {
			t.Errorf("%s: migrations = %+v, want 0001 with several statements", d.kind, ms)
		}
		for _, m := range ms {
			for _, st := range m.statements {
				if strings.Contains(st, ";") {
					t.Errorf("%s %s: statement holds a ';': %q", d.kind, m.name, st)
				}
			}
		}
	}
}

func TestRebind(t *testing.T) {
	q := "UPDATE t SET a = ? WHERE k IN (?, ?)"
	if got := postgresDialect.rebind(q); got != "UPDATE t SET a = $1 WHERE k IN ($2, $3)" {
		t.Errorf("postgres rebind = %q", got)
	}
	if got := mysqlDialect.rebind(q); got != q {
		t.Errorf("mysql rebind = %q", got)
	}
}

func TestTimeEncoding(t *testing.T) {
	zone := time.FixedZone("X", -7*3600)
	in := time.Date(2025, 1, 2, 3, 4, 5, 123456789, zone)
	got := sqliteDialect.timeArg(in)
	if got != "2025-01-02T10:04:05.123456Z" {
		t.Errorf("sqlite time = %v", got)
	}
	// Fixed width keeps text order equal to time order, even on whole seconds.
	if whole := sqliteDialect.timeArg(in.Truncate(time.Second)); whole != "2025-01-02T10:04:05.000000Z" {
		t.Errorf("sqlite whole-second time = %v", whole)
	}
	if sqliteDialect.timeArg(time.Time{}) != nil || postgresDialect.timeArg(time.Time{}) != nil {
		t.Error("zero time is not NULL")
	}
	var ts timeScan
	if err := ts.Scan(got); err != nil || !ts.t.Equal(in.Truncate(time.Microsecond)) || ts.t.Location() != time.UTC {
		t.Errorf("scan %v = %v, %v", got, ts.t, err)
	}
	if err := ts.Scan(in); err != nil || ts.t.Location() != time.UTC {
		t.Errorf("scan time.Time = %v, %v", ts.t, err)
	}
	if err := ts.Scan(nil); err != nil || !ts.t.IsZero() {
		t.Errorf("scan NULL = %v, %v", ts.t, err)
	}
	if err := ts.Scan(int64(5)); err == nil {
		t.Error("scan int64 succeeded")
	}
}

func TestMySQLConfig(t *testing.T) {
	tests := []struct {
		name, url                     string
		user, pass, net, addr, dbName string
		check                         func(t *testing.T, params map[string]string)
	}{
		{
			name: "url form with default port",
			url:  "mysql://gw:p%40ss@db.internal/vpngw",
			user: "gw", pass: "p@ss", net: "tcp", addr: "db.internal:3306", dbName: "vpngw",
		},
		{
			name: "url form with port and params",
			url:  "mysql://root@127.0.0.1:3307/test?charset=utf8mb4&time_zone=%27%2B00%3A00%27",
			user: "root", net: "tcp", addr: "127.0.0.1:3307", dbName: "test",
			check: func(t *testing.T, params map[string]string) {
				if params["time_zone"] != "'+00:00'" {
					t.Errorf("system variable time_zone = %q", params["time_zone"])
				}
			},
		},
		{
			name: "dsn form",
			url:  "mysql://gw:p@ss/w:rd@tcp(10.0.0.5:3306)/vpngw?parseTime=false",
			user: "gw", pass: "p@ss/w:rd", net: "tcp", addr: "10.0.0.5:3306", dbName: "vpngw",
		},
		{
			name: "dsn form over a unix socket",
			url:  "mysql://gw@unix(/run/mysqld/mysqld.sock)/vpngw",
			user: "gw", net: "unix", addr: "/run/mysqld/mysqld.sock", dbName: "vpngw",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, pass, err := mysqlConfig(tc.url)
			if err != nil {
				t.Fatalf("mysqlConfig: %v", err)
			}
			if cfg.User != tc.user || cfg.Passwd != tc.pass || pass != tc.pass || cfg.Net != tc.net || cfg.Addr != tc.addr || cfg.DBName != tc.dbName {
				t.Errorf("got user %q pass %q net %q addr %q db %q", cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName)
			}
			if tc.check != nil {
				tc.check(t, cfg.Params)
			}
		})
	}
}

// TestMySQLForcedSettings checks the driver settings the store relies on,
// whatever the URL says: UTC times, matched-row counts, no multi-statements.
func TestMySQLForcedSettings(t *testing.T) {
	o := defaultOptions()
	cfg, desc, err := mysqlDriverConfig("mysql://gw@127.0.0.1:1/vpngw?clientFoundRows=false&multiStatements=true&parseTime=false&loc=Local", o)
	if err != nil {
		t.Fatal(err)
	}
	if desc != "mysql tcp(127.0.0.1:1)/vpngw" {
		t.Errorf("desc = %q", desc)
	}
	if !cfg.ClientFoundRows || cfg.MultiStatements || !cfg.ParseTime || cfg.Loc != time.UTC {
		t.Errorf("forced settings not applied: %+v", cfg)
	}
	if !cfg.InterpolateParams || cfg.Timeout != o.connectTimeout {
		t.Errorf("defaults not applied: interpolateParams %v timeout %v", cfg.InterpolateParams, cfg.Timeout)
	}
	cfg, _, err = mysqlDriverConfig("mysql://gw@127.0.0.1:1/vpngw?interpolateParams=false&timeout=9s", o)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.InterpolateParams || cfg.Timeout != 9*time.Second {
		t.Errorf("URL settings overridden: interpolateParams %v timeout %v", cfg.InterpolateParams, cfg.Timeout)
	}
}

func TestSQLiteURLs(t *testing.T) {
	tests := []struct{ url, desc string }{
		{"sqlite://data/vpngw.db", "sqlite data/vpngw.db"},
		{"sqlite:///var/lib/vpngw.db", "sqlite /var/lib/vpngw.db"},
		{"sqlite::memory:", "sqlite :memory:"},
		{"sqlite://:memory:", "sqlite :memory:"},
		{"SQLITE://x.db?_synchronous=NORMAL", "sqlite x.db"},
	}
	for _, tc := range tests {
		s, err := OpenSQL(context.Background(), tc.url, WithoutMigrate())
		if err != nil {
			t.Errorf("Open(%s): %v", tc.url, err)
			continue
		}
		if s.String() != tc.desc {
			t.Errorf("Open(%s) = %q, want %q", tc.url, s.String(), tc.desc)
		}
		if memory := strings.Contains(tc.url, ":memory:"); memory != (s.rdb == s.wdb) {
			t.Errorf("Open(%s): shared reader pool = %v, want %v", tc.url, s.rdb == s.wdb, memory)
		}
		s.Close()
	}
}
