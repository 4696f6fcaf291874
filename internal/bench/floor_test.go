package bench

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vpngw/vpngw/internal/queue/natsembed"
	"github.com/vpngw/vpngw/internal/store/sqlstore/pgdriver"
	"github.com/vpngw/vpngw/internal/testenv"
)

// BenchmarkProvisionFloor/{sqlite,postgres}: the least a provision request
// that keeps vpngw's promises can cost on this machine besides its API call,
// as a bound for BenchmarkProvision/inprocess, whose figure holds all of it
// and more. Nothing but the writes and the publish the promises need, on
// tables of three columns with no index but their keys: the record with its
// history, committed and on disk (a commit that syncs); the state change
// with its outbox event and history, committed and on disk; the event read
// back, published to an embedded NATS JetStream (as BenchmarkProvision's)
// and its ack awaited; the event marked sent in a commit that does not wait
// for the disk. No intake, validation, policy, SDK, logging or second sink.
// PostgreSQL's writes are one statement each, as the store's are.
func BenchmarkProvisionFloor(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "floor.db")+
			"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)")
		if err != nil {
			b.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		b.Cleanup(func() { db.Close() })
		floorTables(b, db, "INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT")
		floorLoop(b, floorPublisher(b), floorSteps{
			record: func(ctx context.Context, k, params string, now time.Time) error {
				return inTx(ctx, db, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `INSERT INTO f_requests VALUES (?, 'received', ?, ?)`, k, params, now); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `INSERT INTO f_history (k, st, at) VALUES (?, 'received', ?)`, k, now)
					return err
				})
			},
			change: func(ctx context.Context, k, body string, now time.Time) error {
				return inTx(ctx, db, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `UPDATE f_requests SET state = 'pending' WHERE k = ?`, k); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO f_outbox (k, body) VALUES (?, ?)`, k, body); err != nil {
						return err
					}
					_, err := tx.ExecContext(ctx, `INSERT INTO f_history (k, st, at) VALUES (?, 'pending', ?)`, k, now)
					return err
				})
			},
			unsent: func(ctx context.Context) (seq int64, body string, err error) {
				err = db.QueryRowContext(ctx, `SELECT seq, body FROM f_outbox WHERE sent IS NULL ORDER BY seq LIMIT 1`).Scan(&seq, &body)
				return seq, body, err
			},
			mark: func(ctx context.Context, seq int64, now time.Time) error {
				conn, err := db.Conn(ctx)
				if err != nil {
					return err
				}
				defer conn.Close()
				if _, err := conn.ExecContext(ctx, `PRAGMA synchronous=NORMAL`); err != nil {
					return err
				}
				_, err = conn.ExecContext(ctx, `UPDATE f_outbox SET sent = ? WHERE seq = ?`, now, seq)
				if _, perr := conn.ExecContext(ctx, `PRAGMA synchronous=FULL`); err == nil {
					err = perr
				}
				return err
			},
		})
	})
	b.Run("postgres", func(b *testing.B) {
		cfg, err := pgdriver.ParseConfig(testenv.StoreURL(b, "postgres"))
		if err != nil {
			b.Fatal(err)
		}
		cn, err := pgdriver.NewConnector(cfg)
		if err != nil {
			b.Fatal(err)
		}
		db := sql.OpenDB(cn)
		b.Cleanup(func() { db.Close() })
		floorTables(b, db, "BIGSERIAL PRIMARY KEY", "TIMESTAMPTZ")
		floorLoop(b, floorPublisher(b), floorSteps{
			record: func(ctx context.Context, k, params string, now time.Time) error {
				_, err := db.ExecContext(ctx, `WITH r AS (INSERT INTO f_requests VALUES ($1, 'received', $2, $3) ON CONFLICT DO NOTHING RETURNING k)
					INSERT INTO f_history (k, st, at) SELECT k, 'received', $3 FROM r`, k, params, now)
				return err
			},
			change: func(ctx context.Context, k, body string, now time.Time) error {
				_, err := db.ExecContext(ctx, `WITH u AS (UPDATE f_requests SET state = 'pending' WHERE k = $1 RETURNING k),
					o AS (INSERT INTO f_outbox (k, body) SELECT k, $2 FROM u)
					INSERT INTO f_history (k, st, at) SELECT k, 'pending', $3 FROM u`, k, body, now)
				return err
			},
			unsent: func(ctx context.Context) (seq int64, body string, err error) {
				err = db.QueryRowContext(ctx, `SELECT seq, body FROM f_outbox WHERE sent IS NULL ORDER BY seq LIMIT 1`).Scan(&seq, &body)
				return seq, body, err
			},
			mark: func(ctx context.Context, seq int64, now time.Time) error {
				_, err := db.ExecContext(ctx, `UPDATE f_outbox SET sent = $1 FROM (SELECT set_config('synchronous_commit', 'off', true)) lax WHERE seq = $2`, now, seq)
				return err
			},
		})
	})
}

type floorSteps struct {
	record func(ctx context.Context, k, params string, now time.Time) error
	change func(ctx context.Context, k, body string, now time.Time) error
	unsent func(ctx context.Context) (int64, string, error)
	mark   func(ctx context.Context, seq int64, now time.Time) error
}

func floorTables(b *testing.B, db *sql.DB, serial, ts string) {
	for _, q := range []string{
		`CREATE TABLE f_requests (k TEXT PRIMARY KEY, state TEXT NOT NULL, params TEXT NOT NULL, created ` + ts + `)`,
		`CREATE TABLE f_outbox (seq ` + serial + `, k TEXT NOT NULL, body TEXT NOT NULL, sent ` + ts + `)`,
		`CREATE TABLE f_history (id ` + serial + `, k TEXT NOT NULL, st TEXT NOT NULL, at ` + ts + `)`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
}

func inTx(ctx context.Context, db *sql.DB, f func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// floorPublisher publishes to a stream of an embedded JetStream and waits
// for its ack, with the event's id for deduplication.
func floorPublisher(b *testing.B) func(ctx context.Context, id string, body []byte) error {
	srv, err := natsembed.StartEmbedded(natsembed.EmbeddedOptions{Dir: filepath.Join(b.TempDir(), "nats")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "FLOOR", Subjects: []string{"floor.>"}}); err != nil {
		b.Fatal(err)
	}
	return func(ctx context.Context, id string, body []byte) error {
		_, err := js.Publish(ctx, "floor.outcome", body, jetstream.WithMsgID(id))
		return err
	}
}

func floorLoop(b *testing.B, publish func(context.Context, string, []byte) error, s floorSteps) {
	ctx := context.Background()
	params := `{"RegionId":"cn-hangzhou","VpcId":"vpc-bp1vpngwdemo0001","Bandwidth":10,"InstanceChargeType":"POSTPAY","Name":"floor"}`
	body := `{"specversion":"1.0","id":"%s","type":"com.vpngw.gateway.accepted","source":"vpngw","data":{"VpnGatewayId":"vpn-floor"}}`
	cpu := processCPU(b)
	i := 0
	for b.Loop() {
		i++
		k, now := fmt.Sprintf("floor-%d", i), time.Now().UTC()
		if err := s.record(ctx, k, params, now); err != nil {
			b.Fatal(err)
		}
		if err := s.change(ctx, k, fmt.Sprintf(body, k), now); err != nil {
			b.Fatal(err)
		}
		seq, got, err := s.unsent(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := publish(ctx, k, []byte(got)); err != nil {
			b.Fatal(err)
		}
		if err := s.mark(ctx, seq, now); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}
