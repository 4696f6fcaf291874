package request

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"testing"

	"github.com/vpngw/vpngw/internal/jsonread"
)

// member is one call of readObject's fn.
type member struct {
	Name string
	Raw  string
}

// readBoth reads data with readObject over a json.Decoder and with
// readValidObject, recording fn's calls and the problems put, for known.
func readBoth(t *testing.T, data []byte, known []string) (stream, valid []member, streamErrs, validErrs any) {
	t.Helper()
	var sl, vl errorList
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if fe := readObject(dec, "p.", known, "a member", &sl, func(n string, raw json.RawMessage) {
		stream = append(stream, member{n, string(raw)})
	}); fe != nil {
		t.Fatalf("readObject(%q): fatal %+v for data validObject takes", data, fe)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("readObject(%q): trailing content for data validObject takes (%v)", data, err)
	}
	readValidObject(data, "p.", known, "a member", &vl, func(n string, raw json.RawMessage) {
		valid = append(valid, member{n, string(raw)})
	})
	return stream, valid, sl.list(), vl.list()
}

var readObjectSamples = []string{
	`{}`,
	` { } `,
	`{"RegionId":"cn-hangzhou","VpcId":"vpc-a","Bandwidth":5}`,
	"\t{ \"Bandwidth\" :\n 5.0e0 , \"Tags\" : [ {\"Key\": \"k\", \"Value\": null} ] ,\"Name\":null}\r\n",
	`{"Tags": [1, {"Key": "a", "Key": "b"}], "Tags": []}`,
	`{"Na\u006de": "x", "Name": "y", "N\"ame": {"a": ["}", "]", "\\"]}, "Bandwidth": -1e-400}`,
	`{"bandwidth": 5, "Bandwith": true, "": false, "x": [[[]]], "RegionId": "\ud83d\ude00"}`,
	"{\"\xff\": 1, \"Name\": \"caf\xc3\xa9\"}",
	"\r\n{\r\"Name\"\r:\r\"x\"\r,\r\"Bandwidth\"\t:\n5\r}",
	`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"r":18,"s":19,"t":20,"u":21,"v":22,"w":23,"x":24,"y":25,"z":26}`,
}

// readValidObject reads every object validObject takes as readObject does:
// the same members, names and values, in the same order, and the same
// problems.
func TestReadValidObjectReadsAsTheDecoderDoes(t *testing.T) {
	for _, s := range readObjectSamples {
		checkSameRead(t, []byte(s))
	}
}

func FuzzReadValidObject(f *testing.F) {
	for _, s := range readObjectSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if jsonread.ValidObject(data) {
			checkSameRead(t, data)
		}
	})
}

func checkSameRead(t *testing.T, data []byte) {
	t.Helper()
	if !jsonread.ValidObject(data) {
		t.Fatalf("jsonread.ValidObject(%q) = false", data)
	}
	for _, known := range [][]string{parameterNames, tagMembers} {
		stream, valid, se, ve := readBoth(t, data, known)
		if !reflect.DeepEqual(stream, valid) {
			t.Fatalf("members of %q:\nDecoder        %q\nreadValidObject %q", data, stream, valid)
		}
		if !reflect.DeepEqual(se, ve) {
			t.Fatalf("problems of %q:\nDecoder        %+v\nreadValidObject %+v", data, se, ve)
		}
	}
}

// validObject takes objects only, and only valid JSON.
func TestJSONReadValidObject(t *testing.T) {
	for s, want := range map[string]bool{
		`{}`: true, ` {"a":1} `: true, `[]`: false, `"{}"`: false, `{"a":1}{}`: false,
		`{"a":}`: false, ``: false, ` `: false, "\xef\xbb\xbf{}": false, `{"a":1`: false,
	} {
		if got := jsonread.ValidObject([]byte(s)); got != want {
			t.Errorf("jsonread.ValidObject(%q) = %v, want %v", s, got, want)
		}
	}
}
