package events_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/request"
)

func TestEveryTypeHasASchema(t *testing.T) {
	names, err := fs.Glob(events.Schemas, "schemas/*.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range names {
		got = append(got, strings.TrimSuffix(strings.TrimPrefix(n, "schemas/"), ".schema.json"))
	}
	var want []string
	for typ := range eventTypes {
		want = append(want, typ)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("schemas for %v, want one per type %v", got, want)
	}
	for _, typ := range want {
		s := loadSchema(t, typ)
		if s.root["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%s: $schema = %v, want draft 2020-12", typ, s.root["$schema"])
		}
		if s.root["additionalProperties"] != false {
			t.Errorf("%s: the data must not allow additional properties", typ)
		}
	}
}

// TestSchemasMatchGoTypes checks every schema names exactly the JSON members
// of its Go type, and requires exactly those the Go type always writes; the
// same for the definitions of the nested output types.
func TestSchemasMatchGoTypes(t *testing.T) {
	for typ, newValue := range eventTypes {
		s := loadSchema(t, typ)
		always := alwaysWritten(reflect.TypeOf(newValue()).Elem())
		// GatewayRequest writes RegionId and VpcId always, but Bandwidth is a
		// pointer that must be there too: the request schema requires what
		// the API requires.
		if typ == events.TypeRequested {
			always = []string{"Bandwidth", "RegionId", "VpcId"}
		}
		checkMembersMatch(t, typ, s.root, reflect.TypeOf(newValue()).Elem(), always)
	}
	nested := []struct {
		typ, ref string
		goType   reflect.Type
	}{
		{events.TypeFailed, "#/$defs/FieldError", reflect.TypeFor[events.FieldError]()},
		{events.TypeBatchCompleted, "#/$defs/BatchItemFailure", reflect.TypeFor[events.BatchItemFailure]()},
	}
	for typ := range eventTypes {
		if !isRequestType(typ) {
			nested = append(nested, struct {
				typ, ref string
				goType   reflect.Type
			}{typ, "#/$defs/RequestRef", reflect.TypeFor[events.RequestRef]()})
		}
	}
	for _, n := range nested {
		def, err := loadSchema(t, n.typ).resolve(n.ref)
		if err != nil {
			t.Errorf("%s: %v", n.typ, err)
			continue
		}
		checkMembersMatch(t, n.typ+" "+n.ref, def, n.goType, alwaysWritten(n.goType))
	}
}

// alwaysWritten are the JSON names of the members of struct type rt that
// encoding/json always writes: neither omitempty nor pointers.
func alwaysWritten(rt reflect.Type) []string {
	var always []string
	for i := range rt.NumField() {
		name, opts, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if opts != "omitempty" && rt.Field(i).Type.Kind() != reflect.Pointer {
			always = append(always, name)
		}
	}
	return always
}

// checkMembersMatch checks the object schema node has a property for each
// JSON member of rt and no other, and requires exactly the members always.
func checkMembersMatch(t *testing.T, what string, node map[string]any, rt reflect.Type, always []string) {
	t.Helper()
	var members []string
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		members = append(members, name)
	}
	props := sortedKeys(node["properties"].(map[string]any))
	slices.Sort(members)
	if !slices.Equal(props, members) {
		t.Errorf("%s: schema properties %v, Go members %v", what, props, members)
	}
	if node["additionalProperties"] != false {
		t.Errorf("%s: the schema allows additional properties", what)
	}
	var required []string
	req, _ := node["required"].([]any)
	for _, r := range req {
		required = append(required, r.(string))
	}
	slices.Sort(required)
	always = slices.Sorted(slices.Values(always))
	if !slices.Equal(required, always) {
		t.Errorf("%s: schema requires %v, Go always writes %v", what, required, always)
	}
}

func TestSamplesMatchSchemas(t *testing.T) {
	for _, s := range loadSamples(t) {
		t.Run(s.name, func(t *testing.T) {
			errs := loadSchema(t, s.typ).validate(s.data)
			if strings.Contains(s.name, "invalid") {
				if len(errs) == 0 {
					t.Fatal("the schema accepts the invalid sample")
				}
				return
			}
			for _, e := range errs {
				t.Errorf("%s", e)
			}
		})
	}
}

// TestSchemaAndValidatorAgreeOnInvalidSample: the invalid sample breaks only
// rules a JSON Schema can state, so both must flag the same parameters.
func TestSchemaAndValidatorAgreeOnInvalidSample(t *testing.T) {
	s := sampleNamed(t, "requested-invalid.json")
	schemaFields := schemaPaths(loadSchema(t, events.TypeRequested).validate(s.data))
	goFields := parseFields(s.data)
	if !slices.Equal(schemaFields, goFields) {
		t.Errorf("schema flags %v, request.Parse flags %v", schemaFields, goFields)
	}
	if len(goFields) < 4 {
		t.Errorf("the invalid sample breaks %d rules; it should show several", len(goFields))
	}
}

// TestSchemaValueSetsMatchValidator checks each enum and limit of the request
// schema against the value sets internal/request validates with.
func TestSchemaValueSetsMatchValidator(t *testing.T) {
	for _, typ := range []string{events.TypeRequested, events.TypeValidated, events.TypeBatchRequested} {
		s := loadSchema(t, typ)
		gw := s.root
		if typ != events.TypeRequested {
			var err error
			if gw, err = s.resolve("#/$defs/GatewayRequest"); err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
		}
		props := gw["properties"].(map[string]any)
		prop := func(name string) map[string]any { return props[name].(map[string]any) }
		ints := func(vs []int) []any {
			var out []any
			for _, v := range vs {
				out = append(out, json.Number(fmt.Sprint(v)))
			}
			return out
		}
		strs := func(vs []string) []any {
			var out []any
			for _, v := range vs {
				out = append(out, v)
			}
			return out
		}
		checks := []struct {
			what string
			got  any
			want any
		}{
			{"Bandwidth enum", prop("Bandwidth")["enum"], ints(request.PublicBandwidths)},
			{"Period enum", withoutNull(prop("Period")["enum"]), ints(request.Periods)},
			{"SslConnections enum", withoutNull(prop("SslConnections")["enum"]), ints(request.SslConnectionCounts)},
			{"InstanceChargeType enum", withoutNull(prop("InstanceChargeType")["enum"]), strs(request.InstanceChargeTypes)},
			{"VpnType enum", withoutNull(prop("VpnType")["enum"]), strs(request.VpnTypes)},
			{"NetworkType enum", withoutNull(prop("NetworkType")["enum"]), strs(request.NetworkTypes)},
			{"Name minLength", prop("Name")["minLength"], json.Number(fmt.Sprint(request.NameMinLength))},
			{"Name maxLength", prop("Name")["maxLength"], json.Number(fmt.Sprint(request.NameMaxLength))},
			{"ClientToken maxLength", prop("ClientToken")["maxLength"], json.Number(fmt.Sprint(request.MaxClientTokenLength))},
			{"VpcId maxLength", prop("VpcId")["maxLength"], json.Number(fmt.Sprint(request.MaxResourceIDLength))},
			{"VSwitchId maxLength", prop("VSwitchId")["maxLength"], json.Number(fmt.Sprint(request.MaxResourceIDLength))},
			{"DisasterRecoveryVSwitchId maxLength", prop("DisasterRecoveryVSwitchId")["maxLength"], json.Number(fmt.Sprint(request.MaxResourceIDLength))},
			{"ResourceGroupId maxLength", prop("ResourceGroupId")["maxLength"], json.Number(fmt.Sprint(request.MaxResourceIDLength))},
			{"Tags maxItems", prop("Tags")["maxItems"], json.Number(fmt.Sprint(request.MaxTags))},
			{"tag Key maxLength", tagProp(prop("Tags"), "Key")["maxLength"], json.Number(fmt.Sprint(request.MaxTagKeyLength))},
			{"tag Value maxLength", tagProp(prop("Tags"), "Value")["maxLength"], json.Number(fmt.Sprint(request.MaxTagValueLength))},
		}
		for _, c := range checks {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("%s: %s is %v in the schema, %v in internal/request", typ, c.what, c.got, c.want)
			}
		}
	}
}

// TestSchemasShareDefinitions: definitions repeated across files (each schema
// stands alone) must stay identical.
func TestSchemasShareDefinitions(t *testing.T) {
	req := loadSchema(t, events.TypeRequested).root
	want := map[string]any{}
	for k, v := range req {
		if k != "$schema" && k != "$id" {
			want[k] = v
		}
	}
	for _, typ := range []string{events.TypeValidated, events.TypeBatchRequested} {
		gw, err := loadSchema(t, typ).resolve("#/$defs/GatewayRequest")
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if !reflect.DeepEqual(gw, want) {
			t.Errorf("%s: $defs.GatewayRequest differs from the requested schema", typ)
		}
	}
	var ref map[string]any
	for _, typ := range sortedKeys(eventTypes) {
		if isRequestType(typ) {
			continue
		}
		r, err := loadSchema(t, typ).resolve("#/$defs/RequestRef")
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if ref == nil {
			ref = r
		} else if !reflect.DeepEqual(r, ref) {
			t.Errorf("%s: $defs.RequestRef differs from the other schemas'", typ)
		}
	}
}

// TestSchemaAndValidatorAgree mutates the valid request samples at random and
// checks that whatever the schema refuses, request.Parse refuses too, on the
// same parameter. The converse need not hold: Parse also checks rules that
// join parameters (a private gateway's bandwidths, the dual-tunnel regions,
// Period only with PREPAY, unique tag keys), which the schema does not state.
func TestSchemaAndValidatorAgree(t *testing.T) {
	schema := loadSchema(t, events.TypeRequested)
	var bases []map[string]any
	for _, s := range loadSamples(t) {
		switch {
		case s.typ == events.TypeRequested && !strings.Contains(s.name, "invalid"):
			bases = append(bases, decodeJSON(s.data).(map[string]any))
		case s.typ == events.TypeBatchRequested:
			for _, item := range decodeJSON(s.data).(map[string]any)["Requests"].([]any) {
				bases = append(bases, item.(map[string]any))
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	params := sortedKeys(mutations)
	const runs = 3000
	var schemaRefused, goRefused int
	for i := range runs {
		m := cloneJSON(bases[rng.IntN(len(bases))]).(map[string]any)
		for range 1 + rng.IntN(3) {
			p := params[rng.IntN(len(params))]
			switch vs := mutations[p]; {
			case rng.IntN(8) == 0:
				delete(m, p)
			default:
				m[p] = cloneJSON(vs[rng.IntN(len(vs))])
			}
		}
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		sErrs := schemaPaths(schema.validate(data))
		gFields := parseFields(data)
		if len(sErrs) > 0 {
			schemaRefused++
		}
		if len(gFields) > 0 {
			goRefused++
		}
		for _, p := range sErrs {
			if !slices.ContainsFunc(gFields, func(f string) bool {
				return f == p || strings.HasPrefix(p, f+".") || strings.HasPrefix(p, f+"[")
			}) {
				t.Fatalf("run %d: the schema refuses %s but request.Parse does not (it flags %v):\n%s", i, p, gFields, data)
			}
		}
	}
	t.Logf("%d mutated requests: schema refused %d, request.Parse refused %d", runs, schemaRefused, goRefused)
	if schemaRefused < runs/4 || goRefused == runs {
		t.Errorf("mutations too one-sided to test anything: schema refused %d, Parse %d of %d", schemaRefused, goRefused, runs)
	}
}

// mutations are values to try per member: valid and invalid, of every JSON
// type, and two members that are not parameters.
var mutations = func() map[string][]any {
	n := func(s string) any { return json.Number(s) }
	tags := func(count int) []any {
		var out []any
		for i := range count {
			out = append(out, map[string]any{"Key": fmt.Sprintf("k%d", i), "Value": "v"})
		}
		return out
	}
	return map[string][]any{
		"RegionId":                  {"cn-hangzhou", "me-central-1", "ap-southeast-1", "CN-Hangzhou", "", n("5"), nil},
		"VpcId":                     {"vpc-a1", "vsw-a1", "vpc-", "vpc-A1", "", true, nil},
		"Bandwidth":                 {n("5"), n("7"), n("200"), n("1000"), n("5.0"), n("5.5"), "5", n("2147483648"), n("0"), nil},
		"Name":                      {"gw-1", "1gw", "a", "杭州网关", "http://x", strings.Repeat("a", 101), "", "my gw", n("3"), nil},
		"InstanceChargeType":        {"POSTPAY", "PREPAY", "postpay", "", nil},
		"Period":                    {n("1"), n("10"), n("36"), "1", n("1.5"), nil},
		"AutoPay":                   {true, false, "true", n("1"), nil},
		"EnableIpsec":               {true, false, "false", nil},
		"EnableSsl":                 {true, false, "true", nil},
		"SslConnections":            {n("5"), n("15"), n("1000"), "5", nil},
		"VSwitchId":                 {"vsw-a1", "vsw-a2", "vpc-a1", "", nil},
		"DisasterRecoveryVSwitchId": {"vsw-a1", "vsw-a2", "vsw_a", "", nil},
		"VpnType":                   {"Normal", "NationalStandard", "normal", "", nil},
		"ClientToken":               {"tok-1", "tok-é", "tok\x00", "tok\n", "vpngw-x", strings.Repeat("t", 65), strings.Repeat("t", 64), "", nil},
		"NetworkType":               {"public", "private", "Public", "", nil},
		"ResourceGroupId":           {"rg-a1", "a1", "", nil},
		"Tags": {
			[]any{}, tags(1), tags(20), tags(21), nil,
			[]any{map[string]any{"Key": "aliyun-x", "Value": "v"}},
			[]any{map[string]any{"Key": n("1"), "Value": "v"}},
			[]any{map[string]any{"Value": "v"}},
			[]any{map[string]any{"Key": "k", "Value": nil}},
			[]any{map[string]any{"Key": "k", "Value": "v", "X": n("1")}},
			[]any{map[string]any{"Key": strings.Repeat("k", 129), "Value": "v"}},
			[]any{"k=v"},
			map[string]any{"k": "v"},
		},
		"Bandwith":    {n("5")},
		"Description": {"x"},
	}
}()

func tagProp(tags map[string]any, name string) map[string]any {
	return tags["items"].(map[string]any)["properties"].(map[string]any)[name].(map[string]any)
}

func withoutNull(v any) any {
	var out []any
	for _, x := range v.([]any) {
		if x != nil {
			out = append(out, x)
		}
	}
	return out
}

// schemaPaths are the distinct paths of schema errors, sorted.
func schemaPaths(errs []schemaError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Path)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// parseFields are the distinct fields request.Parse flags in data, sorted.
func parseFields(data []byte) []string {
	_, err := request.Parse(data)
	var perr *request.Error
	if !errors.As(err, &perr) {
		return nil
	}
	var out []string
	for _, fe := range perr.Errors {
		out = append(out, fe.Field)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = cloneJSON(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = cloneJSON(x)
		}
		return out
	default:
		return v
	}
}
