package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/app"
	"github.com/vpngw/vpngw/internal/runtime/fcapi"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/store/sqlstore/pgdriver"
	_ "github.com/vpngw/vpngw/internal/store/sqlstore/sqlite" // without -store, binaries built with -tags sqlite
	"github.com/vpngw/vpngw/internal/testenv"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
}

// firstEvents are the invocations each function is handed, chosen so that
// none of them calls the VPC API (see doc.go).
var firstEvents = map[string]func() ([]byte, error){
	"provision": func() ([]byte, error) {
		return events.Samples.ReadFile("testdata/requested-invalid.json")
	},
	"reconcile": func() ([]byte, error) {
		return []byte(`{"triggerTime":"2026-01-01T00:00:00Z","triggerName":"reconcile-every-minute","payload":"{\"regions\":[]}"}`), nil
	},
	// An HTTP trigger request (the Function Compute 3.0 event shape) without
	// a signature: refused with 401 before anything is parsed or stored.
	"webhook": func() ([]byte, error) {
		return []byte(`{"version":"v1","rawPath":"/","body":"{}","isBase64Encoded":false,` +
			`"headers":{"Content-Type":"application/cloudevents+json"},"queryParameters":{},` +
			`"requestContext":{"requestId":"coldstart","http":{"method":"POST","path":"/","sourceIp":"127.0.0.1"}}}`), nil
	},
}

// extraEnv is what a function needs beyond the store, queue and policy to
// start at all: the webhook refuses to start with no route enabled.
var extraEnv = map[string][]string{
	"webhook": {"VPNGW_WEBHOOK_SECRET=coldstart-secret-not-used-for-anything", "VPNGW_WEBHOOK_SECRET_SOURCES=*"},
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("coldstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dist := fs.String("dist", "dist", "where `make package` put the binaries (DIST/<fn>/<fn>) and zips (DIST/<fn>.zip)")
	runs := fs.Int("n", 20, "cold starts per function")
	warm := fs.Int("warm", 5, "warm invocations after each cold start, before memory is read")
	timeout := fs.Duration("timeout", 30*time.Second, "how long one run may take")
	eventFile := fs.String("event", "", "hand every function this `file`'s payload instead of its built-in first event (to size memory for a large delivery)")
	fresh := fs.Bool("fresh", false, "start each run on an empty store that the function migrates (VPNGW_MIGRATE=on) instead of a migrated one, as functions find it in production")
	storeURL := fs.String("store", "", "a postgres:// `URL`: each run's function gets a schema of its own there (shipped functions take no sqlite://; make coldstart passes VPNGW_TEST_POSTGRES_URL); empty: an SQLite file per run, for binaries built with -tags sqlite")
	floor := fs.String("floor", "", "also time this `binary`, the smallest function the runtime's SDK makes (internal/tools/coldstart/floor), alternating with the functions, and report each function's median against it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: coldstart [-dist dist] [-n 20] [-warm 5] [-event file] [-fresh] [-store postgres://...] [-floor bin] FUNCTION...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 || *runs < 1 || *warm < 0 {
		fs.Usage()
		return errors.New("need at least one function, -n >= 1 and -warm >= 0")
	}
	var targets []target
	for _, fn := range fs.Args() {
		payload, err := firstEvent(fn, *eventFile)
		if err != nil {
			return err
		}
		targets = append(targets, target{name: fn, bin: filepath.Join(*dist, fn, fn), zip: filepath.Join(*dist, fn+".zip"), payload: payload, env: extraEnv[fn]})
	}
	if *floor != "" {
		targets = append(targets, target{name: floorName, bin: *floor, payload: []byte(`{"floor":true}`)})
	}
	st := &stores{fresh: *fresh}
	switch {
	case *storeURL != "":
		// The store's own PostgreSQL driver: the tool links no other.
		conn, err := pgdriver.Driver{}.OpenConnector(*storeURL)
		if err != nil {
			return err
		}
		db := sql.OpenDB(conn)
		defer db.Close()
		st.pg, st.pgURL = db, *storeURL
	case !*fresh:
		// Functions run with VPNGW_MIGRATE=off against a store vpngwctl
		// migrated: each run gets a copy of one migrated store.
		tmpl, err := migratedStore()
		if err != nil {
			return err
		}
		defer os.RemoveAll(filepath.Dir(tmpl))
		st.sqliteTemplate = tmpl
	}
	for i := range targets {
		targets[i].store = st
	}
	results, err := measureAll(targets, *runs, *warm, *timeout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d runs of each done\n", *runs)
	report(stdout, results, *runs, *warm)
	return nil
}

// floorName names the floor's row in the report.
const floorName = "floor (fc-runtime-go-sdk, echo)"

// target is one binary to time, with its first invocation.
type target struct {
	name, bin, zip string
	payload        []byte
	env            []string
	// store gives each run its store; nil: an empty SQLite file the
	// function migrates.
	store *stores
}

// stores gives each run a store of its own: a schema on a PostgreSQL server
// (-store), or an SQLite file, migrated as vpngwctl migrate would unless
// fresh (then the function migrates it, VPNGW_MIGRATE=on).
type stores struct {
	fresh bool
	// pg is the server of -store, pgURL its URL; nil: SQLite.
	pg    *sql.DB
	pgURL string
	// sqliteTemplate is a migrated SQLite file each run starts on a copy
	// of; "" starts on an empty one.
	sqliteTemplate string
}

// prepare makes one run's store and returns VPNGW_STORE_URL, VPNGW_MIGRATE
// and what removes the store.
func (st *stores) prepare(dir string) (storeURL, migrate string, cleanup func(), err error) {
	migrate = "VPNGW_MIGRATE=on"
	if st == nil || st.pg == nil {
		path := filepath.Join(dir, "vpngw.db")
		if st != nil && st.sqliteTemplate != "" {
			b, err := os.ReadFile(st.sqliteTemplate)
			if err != nil {
				return "", "", nil, err
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				return "", "", nil, err
			}
			migrate = "VPNGW_MIGRATE=off"
		}
		return "sqlite://" + path, migrate, func() {}, nil
	}
	schema := fmt.Sprintf("vpngw_coldstart_%08x", rand.Uint32())
	if _, err := st.pg.Exec("CREATE SCHEMA " + schema); err != nil {
		return "", "", nil, fmt.Errorf("-store: %w", err)
	}
	cleanup = func() { _, _ = st.pg.Exec("DROP SCHEMA " + schema + " CASCADE") }
	u, err := url.Parse(st.pgURL)
	if err != nil {
		cleanup()
		return "", "", nil, fmt.Errorf("-store: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	if !st.fresh {
		if err := sqlstore.Migrate(context.Background(), u.String()); err != nil {
			cleanup()
			return "", "", nil, err
		}
		migrate = "VPNGW_MIGRATE=off"
	}
	return u.String(), migrate, cleanup, nil
}

// migratedStore creates a SQLite store with this build's schema, in a
// directory of its own, and returns its path.
func migratedStore() (string, error) {
	dir, err := os.MkdirTemp("", "vpngw-coldstart-store-")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "vpngw.db")
	s, err := sqlstore.Open(context.Background(), "sqlite://"+path)
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("prepare the migrated store: %w", err)
	}
	if err := s.Close(); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return path, nil
}

func firstEvent(fn, file string) ([]byte, error) {
	if file != "" {
		return os.ReadFile(file)
	}
	mk, ok := firstEvents[fn]
	if !ok {
		return nil, fmt.Errorf("%s: no first invocation is defined for it; add one to firstEvents or pass -event", fn)
	}
	return mk()
}

// result is what was measured for one function.
type result struct {
	function        string
	binary, zipSize int64
	cold, warm      []time.Duration
	cpu             []time.Duration // CPU used until the first answer; empty where /proc is missing
	peakRSSKiB      int64           // the highest VmHWM seen over the runs; 0 where /proc is missing
}

func measure(fn, dist string, payload []byte, env []string, runs, warm int, timeout time.Duration) (result, error) {
	rs, err := measureAll([]target{{name: fn, bin: filepath.Join(dist, fn, fn), zip: filepath.Join(dist, fn+".zip"), payload: payload, env: env}}, runs, warm, timeout)
	if err != nil {
		return result{function: fn}, err
	}
	return rs[0], nil
}

// measureAll times runs cold starts of each target, taking the targets in
// turn within each round, so that whatever else the machine does falls on
// all of them alike.
func measureAll(targets []target, runs, warm int, timeout time.Duration) ([]result, error) {
	rs := make([]result, len(targets))
	for i, t := range targets {
		rs[i].function = t.name
		st, err := os.Stat(t.bin)
		if err != nil {
			return nil, fmt.Errorf("%s: %w (run `make package` first)", t.name, err)
		}
		rs[i].binary = st.Size()
		if t.zip != "" {
			if zst, err := os.Stat(t.zip); err == nil {
				rs[i].zipSize = zst.Size()
			}
		}
	}
	for run := 0; run < runs; run++ {
		for i, t := range targets {
			o, err := once(t.bin, t.payload, t.env, t.store, warm, timeout)
			if err != nil {
				return nil, fmt.Errorf("%s, run %d: %w", t.name, run+1, err)
			}
			r := &rs[i]
			r.cold = append(r.cold, o.cold)
			if o.cpu > 0 {
				r.cpu = append(r.cpu, o.cpu)
			}
			r.warm = append(r.warm, o.warm...)
			r.peakRSSKiB = max(r.peakRSSKiB, o.hwmKiB)
		}
	}
	return rs, nil
}

// outcome is one cold start.
type outcome struct {
	cold   time.Duration
	cpu    time.Duration // CPU the process used until then, all threads
	warm   []time.Duration
	hwmKiB int64
}

// once starts bin under a fresh runtime API and store, times the first
// invocation from process start to answer, makes warm more invocations, reads
// the process's peak memory, and stops it.
func once(bin string, payload []byte, env []string, store *stores, warm int, timeout time.Duration) (outcome, error) {
	var o outcome
	dir, err := os.MkdirTemp("", "vpngw-coldstart-")
	if err != nil {
		return o, err
	}
	defer os.RemoveAll(dir)
	storeURL, migrate, cleanup, err := store.prepare(dir)
	if err != nil {
		return o, err
	}
	defer cleanup()
	rt, err := fcapi.Start()
	if err != nil {
		return o, err
	}
	defer rt.Close()

	ctx, stop := context.WithTimeout(context.Background(), timeout)
	defer stop()

	cmd := exec.Command(bin)
	cmd.Env = []string{
		"FC_RUNTIME_API=" + rt.Addr(),
		"VPNGW_STORE_URL=" + storeURL,
		"VPNGW_QUEUE_URL=log:",
		// log: and a local file are what make the figure the process's
		// own: allowed as in the tests, since functions refuse plaintext.
		"VPNGW_ALLOW_INSECURE_TRANSPORT=1",
		// On a copy of a migrated store, as in production, or (-fresh) on an
		// empty one the function migrates (doc.go).
		migrate,
		"VPNGW_POLICY_INLINE=" + app.LocalPolicy,
		"TMPDIR=" + dir,
	}
	cmd.Env = append(cmd.Env, env...)
	logs := &testenv.SyncBuffer{Max: 8 << 10}

	start := time.Now()
	ctx, kill, err := fcapi.Run(ctx, cmd, logs)
	if err != nil {
		return o, err
	}
	defer kill()

	invoke := func() (time.Duration, error) {
		t0 := time.Now()
		res, err := rt.Invoke(ctx, fcapi.Invocation{
			Payload: payload, Timeout: timeout,
			AccessKeyID: "STS.coldstart", AccessKeySecret: "unused", SecurityToken: "unused",
			Region: "cn-hangzhou", AccountID: "1234567890", FunctionName: "coldstart",
		})
		if err != nil {
			if cause := context.Cause(ctx); cause != nil {
				return 0, cause
			}
			return 0, err
		}
		if res.Error != nil {
			return 0, fmt.Errorf("the function answered with an error: %s: %s; its output ends with:\n%s", res.Error.Type, res.Error.Message, logs.String())
		}
		return time.Since(t0), nil
	}
	if _, err := invoke(); err != nil {
		return o, err
	}
	o.cold = time.Since(start)
	o.cpu = cpuTime(cmd.Process.Pid)
	for i := 0; i < warm; i++ {
		d, err := invoke()
		if err != nil {
			return o, err
		}
		o.warm = append(o.warm, d)
	}
	o.hwmKiB = peakRSS(cmd.Process.Pid)
	return o, nil
}

// peakRSS reads VmHWM (the resident set's high-water mark) of a running
// process, in KiB; 0 when /proc does not have it.
func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// cpuTime is the CPU time a running process has used so far, summed over
// its threads (the first field of each /proc/<pid>/task/<tid>/schedstat, in
// nanoseconds); 0 when /proc does not have it. Unlike the wall-clock time it
// does not grow when other processes compete for the machine, and it says
// what a start costs on a fraction of a vCPU: 10 ms of CPU take about 40 ms
// at 0.25 vCPU.
func cpuTime(pid int) time.Duration {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var total int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue // the thread ended meanwhile
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			total += n
		}
	}
	return time.Duration(total)
}

func report(w io.Writer, rs []result, runs, warm int) {
	var floor time.Duration
	for _, r := range rs {
		if r.function == floorName {
			floor = testenv.Percentile(r.cold, 50)
		}
	}
	fmt.Fprintf(w, "| function | zip | binary | cold start median | cold start p90 | CPU to first answer, median | warm invocation median | peak RSS (VmHWM) | median / floor's |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		ratio := "n/a"
		if floor > 0 {
			ratio = fmt.Sprintf("%.1fx", float64(testenv.Percentile(r.cold, 50))/float64(floor))
		}
		rss := "n/a"
		if r.peakRSSKiB > 0 {
			rss = fmt.Sprintf("%.1f MiB", float64(r.peakRSSKiB)/1024)
		}
		cpu := "n/a"
		if len(r.cpu) > 0 {
			cpu = ms(testenv.Percentile(r.cpu, 50))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.function, mib(r.zipSize), mib(r.binary),
			ms(testenv.Percentile(r.cold, 50)), ms(testenv.Percentile(r.cold, 90)), cpu, ms(testenv.Percentile(r.warm, 50)), rss, ratio)
	}
	fmt.Fprintf(w, "\n%d cold starts per function (process start to first invocation answered), %d warm invocations after each; %d CPUs here.\n", runs, warm, runtime.NumCPU())
}

func mib(n int64) string {
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
