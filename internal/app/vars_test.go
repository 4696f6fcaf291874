package app

import (
	"reflect"
	"strings"
	"testing"
)

// The table is the configuration: a variable set to the Default the table
// documents reads as the variable left unset, so the README's defaults
// (checked against the table) are the ones that apply.
func TestVarsDefaultsAreWhatFromEnvUses(t *testing.T) {
	for _, mode := range []Mode{Function, Local} {
		unset, _ := FromEnv(func(string) string { return "" }, mode)
		for _, v := range Vars {
			if v.parse == nil || v.Default == "" || strings.ContainsAny(v.Default, " ;") || v.Default == "none" {
				// A description such as "none" or "required in functions;
				// ...", not a value: nothing to compare.
				continue
			}
			set, err := FromEnv(func(k string) string {
				if k == v.Name {
					return v.Default
				}
				return ""
			}, mode)
			if err != nil && strings.Contains(err.Error(), v.Name+"=") {
				t.Errorf("mode %d: %s=%q, its documented default, is refused: %v", mode, v.Name, v.Default, err)
				continue
			}
			if !reflect.DeepEqual(set, unset) {
				t.Errorf("mode %d: %s=%q reads differently from %s unset", mode, v.Name, v.Default, v.Name)
			}
		}
	}
}

// Every variable of the table is read by FromEnv through its parse, or is
// one that resolveSecrets or another variable's parse reads.
func TestEveryVarIsRead(t *testing.T) {
	readElsewhere := map[string]bool{"VPNGW_POLICY_INLINE": true, "VPNGW_KMS_ENDPOINT": true}
	for _, s := range SecretVars {
		readElsewhere[s+"_SECRET"] = true
	}
	for _, v := range Vars {
		if v.parse == nil && !readElsewhere[v.Name] {
			t.Errorf("%s is in Vars but nothing reads it", v.Name)
		}
	}
}
