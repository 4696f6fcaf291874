package app_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/apptest"
	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/store"
	"github.com/vpngw/vpngw/internal/testenv"
)

// A batch item the store refuses for good (a data exception: PostgreSQL's
// SQLSTATE class 22, MySQL's 1406) ends the batch as any failed item
// would: answered failed with what the store said, counted failed in the
// batch's one summary, the other items created exactly once, and nothing
// asked again on the ticks after. Two refusals: one of a column that the
// item's refusal can leave out (VpcId), so the refusal itself is recorded
// and announced; one of the request's data, which no record of the item
// can hold, so only the summary says it failed.
//
// The stores refuse through a trigger that raises the data exception the
// database raises for a value it cannot keep, so that the refusal is the
// server's own answer whatever input causes it in the future.
func TestBatchItemRefusedByTheStoreEndsTheBatch(t *testing.T) {
	urls := testenv.StoreURLs(t)
	for _, name := range []string{"postgres", "mysql"} {
		storeURL, ok := urls[name]
		if !ok {
			continue // no server named: testenv.Required makes CI fail instead
		}
		t.Run(name, func(t *testing.T) {
			s := newStack(t, apptest.WithEnv(map[string]string{"VPNGW_STORE_URL": storeURL}))
			refuseMarkedRecords(t, name, storeURL)
			refusedColumn, refusedData := validData(), validData()
			refusedColumn["VpcId"] = refusedVpcID
			refusedData["Name"] = refusedName
			batches := map[string]map[string]any{"refused-column": refusedColumn, "refused-data": refusedData}
			for id, bad := range batches {
				resp, err := s.provision(batchEvent(id, []map[string]any{validData(), bad, validData()}))
				if err != nil || len(resp.Results) != 3 {
					t.Fatalf("%s: %+v, %v; want three answers", id, resp.Results, err)
				}
				r := resp.Results[1]
				if r.State != store.Failed || r.Retry || r.Code != events.CodeInvalidRequest || !strings.Contains(r.Message, "store refused") || len(r.Errors) != 1 {
					t.Errorf("%s: item 1 answered %+v, want failed for good, saying once that the store refused it", id, r)
				}
			}
			for i := range 4 {
				s.Clock.Advance(3 * time.Minute)
				s.tick()
				if n := len(s.EventsOfType(events.TypeBatchCompleted)); n == len(batches) {
					break
				} else if i == 3 {
					t.Fatalf("after %d ticks %d of %d batches have a summary; the refused item was asked again on every tick (%d refusals logged)",
						i+1, n, len(batches), strings.Count(s.Logs.String(), "the store cannot keep a value of it"))
				}
			}
			for _, ev := range s.EventsOfType(events.TypeBatchCompleted) {
				var sum events.BatchCompleted
				if err := json.Unmarshal(ev.Data, &sum); err != nil {
					t.Fatal(err)
				}
				if sum.Total != 3 || sum.Active != 2 || sum.Failed != 1 || len(sum.FailedItems) != 1 ||
					sum.FailedItems[0].Index != 1 || !strings.Contains(sum.FailedItems[0].Reason, "store refused") {
					t.Errorf("%s: summary %+v, want 2 active and item 1 failed, refused by the store", sum.Request.EventID, sum)
				}
			}
			if n := s.API.Calls("CreateVpnGateway"); n != 4 {
				t.Errorf("%d CreateVpnGateway calls, want 4 (the two valid items of each batch, once)", n)
			}
			// The refusal that a record can hold is recorded and announced.
			failed := s.EventsOfType(events.TypeFailed)
			if len(failed) != 1 || !strings.Contains(string(failed[0].Data), "refused-column/item-0001") {
				t.Errorf("%d failed events %+v, want one, for refused-column's item 1", len(failed), failed)
			}
			// A batch whose own record is refused is answered failed for
			// good, as a request would be, not handed back to be delivered
			// again.
			whole := validData()
			whole["Name"] = refusedBatchName
			resp, err := s.provision(batchEvent("refused-batch", []map[string]any{validData(), whole}))
			if err != nil || len(resp.Results) != 1 || resp.Results[0].State != store.Failed || resp.Results[0].Retry ||
				!strings.Contains(resp.Results[0].Message, "store refused") {
				t.Errorf("a batch whose record is refused: %+v, %v; want one answer, failed for good, saying the store refused it", resp.Results, err)
			}
			refusals := strings.Count(s.Logs.String(), "the store cannot keep a value of it")
			before := len(s.EventsOfType(events.TypeBatchCompleted))
			s.Clock.Advance(3 * time.Minute)
			s.tick()
			if n := strings.Count(s.Logs.String(), "the store cannot keep a value of it"); n != refusals || len(s.EventsOfType(events.TypeBatchCompleted)) != before {
				t.Errorf("a tick after the summaries asked the store again (%d refusals, then %d) or wrote another summary", refusals, n)
			}
		})
	}
}

const (
	refusedVpcID     = "vpc-refusedbythestore"
	refusedName      = "refusedEverywhere"
	refusedBatchName = "refusedWithItsBatch"
)

// refuseMarkedRecords makes the store at storeURL refuse, as a data
// exception, any request record whose VpcId is refusedVpcID, or any
// record but a batch's whose data holds refusedName, or any record whose
// data holds refusedBatchName.
func refuseMarkedRecords(t *testing.T, kind, storeURL string) {
	t.Helper()
	var stmts []string
	switch kind {
	case "postgres":
		stmts = []string{`CREATE FUNCTION refuse_marked() RETURNS trigger AS $$ BEGIN
			IF NEW.vpc_id = '` + refusedVpcID + `' OR (NEW.state NOT LIKE 'batch%' AND position('` + refusedName + `'::bytea IN NEW.params) > 0)
				OR position('` + refusedBatchName + `'::bytea IN NEW.params) > 0 THEN
				RAISE EXCEPTION 'invalid byte sequence for encoding "UTF8": 0x00' USING ERRCODE = '22021';
			END IF; RETURN NEW; END $$ LANGUAGE plpgsql`,
			`CREATE TRIGGER refuse_marked BEFORE INSERT OR UPDATE ON requests FOR EACH ROW EXECUTE FUNCTION refuse_marked()`}
	case "mysql":
		for _, when := range []string{"INSERT", "UPDATE"} {
			stmts = append(stmts, `CREATE TRIGGER refuse_marked_`+strings.ToLower(when)+` BEFORE `+when+` ON requests FOR EACH ROW BEGIN
				IF NEW.vpc_id = '`+refusedVpcID+`' OR (NEW.state NOT LIKE 'batch%' AND LOCATE('`+refusedName+`', NEW.params) > 0)
					OR LOCATE('`+refusedBatchName+`', NEW.params) > 0 THEN
					SIGNAL SQLSTATE '22001' SET MYSQL_ERRNO = 1406, MESSAGE_TEXT = 'Data too long for column';
				END IF; END`)
		}
	}
	execOnStore(t, kind, storeURL, stmts)
}

// A tag with a control character in it (a NUL, which no PostgreSQL text
// column keeps; a line break) is refused by validation, naming the tag, on
// every path: here a batch item and a single event. The batch goes on and
// is summarized with the item failed.
func TestControlCharacterInATagIsRefusedUpFront(t *testing.T) {
	s := newStack(t)
	nul, newline := validData(), validData()
	nul["Tags"] = []map[string]string{{"Key": "team", "Value": "net\x00ops"}}
	newline["Tags"] = []map[string]string{{"Key": "team\nlead", "Value": "x"}}
	resp, err := s.provision(batchEvent("tags-ctl", []map[string]any{validData(), nul}))
	if err != nil || len(resp.Results) != 2 {
		t.Fatalf("%+v, %v; want two answers", resp.Results, err)
	}
	single, err := s.provision(requestEvent("tags-ctl-single", newline))
	if err != nil || len(single.Results) != 1 {
		t.Fatalf("%+v, %v; want one answer", single.Results, err)
	}
	for _, c := range []struct {
		r     provision.Result
		field string
	}{{resp.Results[1], "Tags[0].Value"}, {single.Results[0], "Tags[0].Key"}} {
		if c.r.State != store.Failed || c.r.Retry || len(c.r.Errors) != 1 || c.r.Errors[0].Field != c.field ||
			!strings.Contains(c.r.Errors[0].Message, "control character") || !strings.Contains(c.r.Errors[0].Allowed, "no control characters") {
			t.Errorf("%s: %+v, want failed for good, naming %s and what is allowed", c.r.EventID, c.r, c.field)
		}
	}
	s.Clock.Advance(3 * time.Minute)
	s.tick()
	sum := onlyEvent[events.BatchCompleted](t, s, events.TypeBatchCompleted)
	if sum.Active != 1 || sum.Failed != 1 || sum.FailedItems[0].Index != 1 {
		t.Errorf("summary %+v, want item 0 active and item 1 failed", sum)
	}
	if n := s.API.Calls("CreateVpnGateway"); n != 1 {
		t.Errorf("%d CreateVpnGateway calls, want 1", n)
	}
}
