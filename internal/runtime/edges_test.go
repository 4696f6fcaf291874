package runtime

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/provision"
	"github.com/vpngw/vpngw/internal/reconcile"
	"github.com/vpngw/vpngw/internal/store"
)

// A tick's options come from a Function Compute timer's payload, an Amazon
// EventBridge scheduled event's detail, or nowhere (a manual invocation);
// options the tick does not know are refused, naming what is wanted.
func TestReconcileOptions(t *testing.T) {
	hz := reconcile.Options{Regions: []string{"cn-hangzhou"}}
	for _, tc := range []struct {
		payload string
		want    reconcile.Options
		err     string
	}{
		{"", reconcile.Options{}, ""},
		{"null", reconcile.Options{}, ""},
		{`{"triggerTime":"t","triggerName":"every-minute","payload":"{\"regions\":[\"cn-hangzhou\"]}"}`, hz, ""},
		{`{"triggerTime":"t","triggerName":"every-minute","payload":""}`, reconcile.Options{}, ""},
		{`{"triggerTime":"t","triggerName":"every-minute","payload":"{\"region\":\"cn-hangzhou\"}"}`, reconcile.Options{}, "timer payload"},
		{`{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`, reconcile.Options{}, ""},
		{`{"detail-type":"Scheduled Event","source":"aws.events","detail":{"regions":["cn-hangzhou"]}}`, hz, ""},
		{`{"detail-type":"Scheduled Event","source":"aws.events","detail":{"regionz":[]}}`, reconcile.Options{}, "scheduled event detail"},
		{`"a manual invocation"`, reconcile.Options{}, ""},
	} {
		got, err := ReconcileOptions([]byte(tc.payload))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.payload, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one saying %q", tc.payload, err, tc.err)
		case tc.err == "" && !reflect.DeepEqual(got, tc.want):
			t.Errorf("%s: %+v, want %+v", tc.payload, got, tc.want)
		}
	}
}

// What a handled delivery answers over HTTP.
func TestResultsStatus(t *testing.T) {
	failed := provision.Result{State: store.Failed}
	conflict := provision.Result{State: store.Failed, Code: provision.CodeIDConflict}
	pending := provision.Result{State: store.Pending}
	for _, tc := range []struct {
		results []provision.Result
		err     error
		want    int
	}{
		{[]provision.Result{pending}, nil, http.StatusAccepted},
		{[]provision.Result{pending, failed}, nil, http.StatusAccepted},
		{[]provision.Result{failed}, nil, http.StatusBadRequest},
		{[]provision.Result{failed, conflict}, nil, http.StatusConflict},
		{[]provision.Result{pending}, errors.New("store down"), http.StatusServiceUnavailable},
	} {
		if got := ResultsStatus(tc.results, tc.err); got != tc.want {
			t.Errorf("%+v, %v: %d, want %d", tc.results, tc.err, got, tc.want)
		}
	}
}
