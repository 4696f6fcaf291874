package events

import (
	"reflect"
	"strings"
	"testing"
)

// fillStrings sets every string of v (a pointer to a struct, its nested
// structs included) to s.
func fillStrings(v reflect.Value, s string) {
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			f.SetString(s)
		case reflect.Struct:
			fillStrings(f, s)
		case reflect.Pointer:
			if f.Type().Elem().Kind() == reflect.Struct {
				f.Set(reflect.New(f.Type().Elem()))
				fillStrings(f.Elem(), s)
			}
		}
	}
}

// stringLens maps the path of every string of v to its length in bytes.
func stringLens(v reflect.Value, prefix string, into map[string]int) {
	for i := range v.NumField() {
		name := prefix + v.Type().Field(i).Name
		switch f := v.Field(i); f.Kind() {
		case reflect.String:
			into[name] = len(f.String())
		case reflect.Struct:
			stringLens(f, name+".", into)
		case reflect.Pointer:
			if !f.IsNil() && f.Type().Elem().Kind() == reflect.Struct {
				stringLens(f.Elem(), name+".", into)
			}
		}
	}
}

// Bounded cuts every string of an outcome to its own limit, ending it in
// "…", and leaves a value within its limit as it is.
func TestBoundedCutsEveryString(t *testing.T) {
	long := strings.Repeat("x", 10<<10)
	ref := map[string]int{"Request.Source": maxRefText, "Request.EventID": maxRefText, "Request.Subject": maxRefText}
	with := func(short []string, field map[string]int) map[string]int {
		out := map[string]int{}
		for k, v := range ref {
			out[k] = v
		}
		for _, k := range short {
			out[k] = maxShortText
		}
		for k, v := range field {
			out[k] = v
		}
		return out
	}
	for _, c := range []struct {
		v     any
		bound func(any) any
		want  map[string]int
	}{
		{&Accepted{}, func(v any) any { return v.(*Accepted).Bounded() },
			with([]string{"VpnGatewayId", "RegionId", "VpcId", "ClientToken", "RequestId"}, map[string]int{"Name": maxFieldText})},
		{&Active{}, func(v any) any { return v.(*Active).Bounded() },
			with([]string{"VpnGatewayId", "RegionId", "VpcId", "Status", "BusinessStatus", "Spec", "InternetIp",
				"DisasterRecoveryInternetIp", "SslVpnInternetIp", "ChargeType"}, map[string]int{"Name": maxFieldText})},
		{&Validated{}, func(v any) any { return v.(*Validated).Bounded() },
			with([]string{"ClientToken", "Parameters.RegionId", "Parameters.VpcId", "Parameters.InstanceChargeType",
				"Parameters.VSwitchId", "Parameters.VpnType", "Parameters.ClientToken", "Parameters.NetworkType",
				"Parameters.DisasterRecoveryVSwitchId", "Parameters.ResourceGroupId"}, map[string]int{"Parameters.Name": maxFieldText})},
		{&Failed{}, func(v any) any { return v.(*Failed).Bounded() },
			with([]string{"Stage", "Code", "RequestId", "VpnGatewayId", "RegionId"}, map[string]int{"Message": maxMessageText})},
	} {
		fillStrings(reflect.ValueOf(c.v).Elem(), long)
		got := map[string]int{}
		b := reflect.ValueOf(c.bound(c.v))
		stringLens(b, "", got)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%T.Bounded: string lengths %v, want %v", b.Interface(), got, c.want)
		}
		for k := range c.want {
			if s := b.FieldByName(strings.Split(k, ".")[0]); s.Kind() == reflect.String && !strings.HasSuffix(s.String(), "…") {
				t.Errorf("%T.Bounded: %s does not end in …", b.Interface(), k)
			}
		}
		fillStrings(reflect.ValueOf(c.v).Elem(), "short")
		if b := c.bound(c.v); !reflect.DeepEqual(b, reflect.ValueOf(c.v).Elem().Interface()) {
			t.Errorf("%T.Bounded changed short values: %+v", b, b)
		}
	}
}
