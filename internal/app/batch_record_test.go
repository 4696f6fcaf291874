package app_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/request"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/store/sqlstore"
	"github.com/vpngw/vpngw/internal/testenv"
)

// A batch's items are recorded a chunk of 100 per transaction; a chunk the
// store refuses is written again one item at a time, so that each item
// meets what a record of its own would. Here the real store refuses one
// item of a batch of 250 (a trigger the test adds, standing for a value
// the database cannot keep): every other item, the 99 of its chunk too, is
// recorded and created exactly once, across a redelivery as well, and the
// refused item is answered without the store's own words (they name where
// the store is), which the invocation's error and the log keep. PostgreSQL names its
// refusal a bad value (SQLSTATE class 22): answered failed, for good;
// SQLite and MySQL raise an error of no known kind: answered to be
// delivered again, and the invocation asks for that.
func TestBatchItemTheStoreRefusesLeavesTheOthersRecorded(t *testing.T) {
	for kind, storeURL := range testenv.StoreURLs(t) {
		t.Run(kind, func(t *testing.T) {
			s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_STORE_URL": storeURL}))
			const (
				batchID = "nightly-refused"
				n       = 250
				refused = 150
			)
			refusedID := events.BatchItemID(batchID, refused)
			refuseOneRecord(t, kind, storeURL, refusedID)
			var items []map[string]any
			for i := range n {
				d := validData()
				d["Name"] = fmt.Sprintf("refused-batch-%03d", i)
				items = append(items, d)
			}
			payload := batchEvent(batchID, items)
			permanent := kind == "postgres"
			for delivery := 1; delivery <= 2; delivery++ {
				resp, err := s.provision(payload)
				if permanent && err != nil {
					t.Fatalf("delivery %d: %v, want no redelivery asked for (the refusal is for good)", delivery, err)
				}
				if !permanent && err == nil {
					t.Fatalf("delivery %d: no error, want a redelivery asked for the item the store refused", delivery)
				}
				if len(resp.Results) != n {
					t.Fatalf("delivery %d: %d results, want %d", delivery, len(resp.Results), n)
				}
				for _, r := range resp.Results {
					if r.EventID != refusedID {
						if r.Retry || r.State == store.Failed {
							t.Errorf("delivery %d: item %s: %+v, want recorded and created", delivery, r.EventID, r)
						}
						continue
					}
					switch {
					case permanent && (r.State != store.Failed || r.Retry || r.Code != events.CodeInvalidRequest ||
						!strings.Contains(r.Message, "store refused one of its values")):
						t.Errorf("delivery %d: refused item: %+v, want failed for good, saying the store refused one of its values", delivery, r)
					case !permanent && (!r.Retry || !strings.Contains(r.Message, "the store did not take the record")):
						t.Errorf("delivery %d: refused item: %+v, want to be delivered again, saying the store did not take it", delivery, r)
					}
					// The store's words name where it is: they are for
					// the operator's log and the invocation's error, not
					// for the requester.
					if strings.Contains(r.Message, "refused by a trigger of the test") || strings.Contains(r.Message, "127.0.0.1") || strings.Contains(r.Message, "sqlite") {
						t.Errorf("delivery %d: refused item's answer %q carries the store's own words", delivery, r.Message)
					}
				}
				if err != nil && !strings.Contains(err.Error(), "refused by a trigger of the test") {
					t.Errorf("delivery %d: invocation error %q does not say why", delivery, err)
				}
			}
			gws := s.API.Gateways()
			oneGatewayPerToken(t, gws)
			if len(gws) != n-1 {
				t.Errorf("%d gateways, want %d (every item but the refused one)", len(gws), n-1)
			}
			if calls := s.API.Calls("CreateVpnGateway"); calls != n-1 {
				t.Errorf("%d CreateVpnGateway calls in two deliveries, want %d: one per recorded item", calls, n-1)
			}
			ctx := context.Background()
			for i := range n {
				key := request.Identity{Source: "/batch/nightly", EventID: events.BatchItemID(batchID, i), Item: true}.Key()
				_, err := s.App.Store.Get(ctx, key)
				switch {
				case i == refused && !errors.Is(err, store.ErrNotFound):
					t.Errorf("refused item %d: Get: %v, want not recorded", i, err)
				case i != refused && err != nil:
					t.Errorf("item %d not recorded: %v", i, err)
				}
			}
		})
	}
}

// A batch whose own record the store does not take (an error of no known
// kind: SQLite's and MySQL's trigger) is answered to be delivered again,
// and its answer says so without the store's own words, which name where
// the store is; the invocation's error, for the operator, keeps them.
func TestBatchRecordNotTakenSaysNothingOfTheStore(t *testing.T) {
	for kind, storeURL := range testenv.StoreURLs(t) {
		if kind == "postgres" { // its trigger raises a data exception: failed for good, tested above
			continue
		}
		t.Run(kind, func(t *testing.T) {
			s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_STORE_URL": storeURL}))
			const batchID = "nightly-batch-refused"
			refuseOneRecord(t, kind, storeURL, batchID)
			resp, err := s.provision(batchEvent(batchID, []map[string]any{validData()}))
			if err == nil || !strings.Contains(err.Error(), "refused by a trigger of the test") {
				t.Errorf("invocation error %v, want one that says why", err)
			}
			if len(resp.Results) != 1 || !resp.Results[0].Retry {
				t.Fatalf("results %+v, want the batch to be delivered again", resp.Results)
			}
			if msg := resp.Results[0].Message; strings.Contains(msg, "refused by a trigger of the test") || strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "sqlite") {
				t.Errorf("the batch's answer %q carries the store's own words", msg)
			}
		})
	}
}

// refuseOneRecord makes the store at storeURL refuse to record the request
// with eventID, as the database refuses a value it cannot keep.
func refuseOneRecord(t *testing.T, kind, storeURL, eventID string) {
	t.Helper()
	const why = "refused by a trigger of the test"
	var ddl []string
	switch kind {
	case "sqlite":
		ddl = []string{`CREATE TRIGGER refuse_one BEFORE INSERT ON requests WHEN NEW.event_id = '` + eventID + `'
			BEGIN SELECT RAISE(ABORT, '` + why + `'); END`}
	case "postgres":
		// Class 22 (data exception), as a value too long or a NUL is.
		ddl = []string{`CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.event_id = '` + eventID + `' THEN RAISE EXCEPTION '` + why + `' USING ERRCODE = '22023'; END IF;
				RETURN NEW;
			END $$`,
			`CREATE TRIGGER refuse_one BEFORE INSERT ON requests FOR EACH ROW EXECUTE FUNCTION refuse_one()`}
	case "mysql":
		ddl = []string{`CREATE TRIGGER refuse_one BEFORE INSERT ON requests FOR EACH ROW
			BEGIN IF NEW.event_id = '` + eventID + `' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '` + why + `'; END IF; END`}
	default:
		t.Fatalf("no trigger for a %s store", kind)
	}
	execOnStore(t, kind, storeURL, ddl)
}

// execOnStore runs statements on the store at storeURL through a
// connection of the test's own, as its administrator would.
func execOnStore(t *testing.T, kind, storeURL string, stmts []string) {
	t.Helper()
	var driver, dsn string
	switch kind {
	case "sqlite":
		driver, dsn = "sqlite", strings.TrimPrefix(storeURL, "sqlite://")
	case "postgres":
		driver, dsn = "pgx", storeURL
	case "mysql":
		cfg, err := sqlstore.MySQLDriverConfig(storeURL)
		if err != nil {
			t.Fatal(err)
		}
		driver, dsn = "mysql", cfg.FormatDSN()
	default:
		t.Fatalf("no connection to a %s store", kind)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
}
