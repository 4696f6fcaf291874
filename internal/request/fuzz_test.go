package request

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, that whatever it accepts
// validates clean (also once normalised) and survives a JSON round trip
// unchanged, and that whatever it refuses comes with usable FieldErrors.
func FuzzParse(f *testing.F) {
	for _, name := range requestSamples(f) {
		f.Add(sampleData(f, name))
	}
	for _, s := range []string{
		`{"RegionId": "me-central-1", "VpcId": "vpc-a", "Bandwidth": 5}`,
		`{"Bandwidth": 5.0e0, "Tags": [{"Key": "k", "Value": null}], "Name": null}`,
		`{"Bandwidth": -1e-400}`,
		`{"Tags": [1, {"Key": "a", "Key": "b"}]}`,
		`{"Bandwidth": 5}{}`,
		`{"bandwidth": 5, "Bandwith": 5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || len(perr.Errors) == 0 {
				t.Fatalf("Parse error %v is not an *Error with FieldErrors", err)
			}
			for _, fe := range perr.Errors {
				if fe.Field == "" || fe.Message == "" {
					t.Fatalf("FieldError without Field or Message: %+v", fe)
				}
			}
			return
		}
		if errs := Validate(r); errs != nil {
			t.Fatalf("Parse accepted a request Validate refuses:\n%s", dump(errs))
		}
		if errs := Validate(Normalize(r)); errs != nil {
			t.Fatalf("Normalize broke an accepted request:\n%s", dump(errs))
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("encode accepted request: %v", err)
		}
		r2, err := Parse(again)
		if err != nil {
			t.Fatalf("re-encoded request %s refused: %v", again, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", r, r2)
		}
	})
}
