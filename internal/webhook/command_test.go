package webhook

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/vpngw/vpngw/internal/request"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name string
		text string
		verb string
		data string // the request's JSON, compared as values
	}{
		{"empty is help", "", verbHelp, ""},
		{"white space is help", " \t\n", verbHelp, ""},
		{"help", "help", verbHelp, ""},
		{"help in capitals, with arguments", "HELP create", verbHelp, ""},
		{"the bot's mention is skipped", "@vpngw help", verbHelp, ""},
		{"required keys", "create region=cn-hangzhou vpc=vpc-bp1x bandwidth=10",
			verbCreate, `{"RegionId":"cn-hangzhou","VpcId":"vpc-bp1x","Bandwidth":10}`},
		{"every short key",
			"create region=cn-hangzhou vpc=vpc-bp1x bandwidth=200 name=dev-gw vswitch=vsw-1 dr-vswitch=vsw-2 network=PRIVATE " +
				"ssl=50 ipsec=off charge=prepay period=12 autopay=yes vpn-type=nationalstandard resource-group=rg-aek2 " +
				"tag.CostCenter=CC-42 tag.owner=netops",
			verbCreate, `{"RegionId":"cn-hangzhou","VpcId":"vpc-bp1x","Bandwidth":200,"Name":"dev-gw","VSwitchId":"vsw-1",
				"DisasterRecoveryVSwitchId":"vsw-2","NetworkType":"private","EnableSsl":true,"SslConnections":50,"EnableIpsec":false,
				"InstanceChargeType":"PREPAY","Period":12,"AutoPay":true,"VpnType":"NationalStandard","ResourceGroupId":"rg-aek2",
				"Tags":[{"Key":"CostCenter","Value":"CC-42"},{"Key":"owner","Value":"netops"}]}`},
		{"the API's own names, any case",
			"Create RegionId=cn-shanghai vpcid=vpc-uf6x Bandwidth=5 EnableSsl=true SslConnections=10 EnableIpsec=on " +
				"InstanceChargeType=POSTPAY NetworkType=public VpnType=Normal DisasterRecoveryVSwitchId=vsw-9 ClientToken=tok-1 AutoPay=false",
			verbCreate, `{"RegionId":"cn-shanghai","VpcId":"vpc-uf6x","Bandwidth":5,"EnableSsl":true,"SslConnections":10,"EnableIpsec":true,
				"InstanceChargeType":"POSTPAY","NetworkType":"public","VpnType":"Normal","DisasterRecoveryVSwitchId":"vsw-9",
				"ClientToken":"tok-1","AutoPay":false}`},
		{"ssl=on without a count", "create region=r vpc=v bandwidth=5 ssl=on", verbCreate,
			`{"RegionId":"r","VpcId":"v","Bandwidth":5,"EnableSsl":true}`},
		{"ssl=off", "create region=r vpc=v bandwidth=5 ssl=off", verbCreate,
			`{"RegionId":"r","VpcId":"v","Bandwidth":5,"EnableSsl":false}`},
		{"values passed on for the validator to judge", "create region=mars-1 vpc=v bandwidth=-3 network=satellite charge=barter", verbCreate,
			`{"RegionId":"mars-1","VpcId":"v","Bandwidth":-3,"NetworkType":"satellite","InstanceChargeType":"BARTER"}`},
		{"quoted values", `create region=r vpc=v bandwidth=5 tag.owner="Net Ops" tag.desc='a b' name=“smart quotes”`, verbCreate,
			`{"RegionId":"r","VpcId":"v","Bandwidth":5,"Name":"smart quotes","Tags":[{"Key":"owner","Value":"Net Ops"},{"Key":"desc","Value":"a b"}]}`},
		{"a quoted run inside a token", `create region=r vpc=v bandwidth=5 "tag.two words"=x`, verbCreate,
			`{"RegionId":"r","VpcId":"v","Bandwidth":5,"Tags":[{"Key":"two words","Value":"x"}]}`},
		{"an empty tag value", "create region=r vpc=v bandwidth=5 tag.flag=", verbCreate,
			`{"RegionId":"r","VpcId":"v","Bandwidth":5,"Tags":[{"Key":"flag","Value":""}]}`},
		{"tag keys keep their case and dots", "create region=r vpc=v bandwidth=5 TAG.acs:Team.Name=x", verbCreate,
			`{"RegionId":"r","VpcId":"v","Bandwidth":5,"Tags":[{"Key":"acs:Team.Name","Value":"x"}]}`},
		{"non-breaking spaces and new lines separate", "create\u00a0region=r\nvpc=v\tbandwidth=5", verbCreate,
			`{"RegionId":"r","VpcId":"v","Bandwidth":5}`},
		{"missing required keys are the validator's to report", "create name=x", verbCreate, `{"Name":"x"}`},
		{"check", "check region=r vpc=v bandwidth=5", verbCheck, `{"RegionId":"r","VpcId":"v","Bandwidth":5}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := parseCommand(tc.text)
			if err != nil {
				t.Fatalf("parseCommand: %v", err)
			}
			if cmd.verb != tc.verb {
				t.Fatalf("verb %q, want %q", cmd.verb, tc.verb)
			}
			if tc.data == "" {
				if cmd.data != nil {
					t.Fatalf("data %s, want none", cmd.data)
				}
				return
			}
			var got, want any
			if err := json.Unmarshal(cmd.data, &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(tc.data), &want); err != nil {
				t.Fatalf("the test's data: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("data\n %s\nwant\n %s", cmd.data, tc.data)
			}
			// What the grammar produces, the request decoder reads without
			// an unknown or mistyped parameter.
			if _, errs := request.Decode(cmd.data); len(errs) != 0 {
				t.Errorf("request.Decode: %+v", errs)
			}
		})
	}
}

func TestParseCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // each must be one of the problems
	}{
		{"unknown verb", "crate region=r", []string{`unknown command "crate": start with create, check, status, delete or help`}},
		{"no verb", "region=r vpc=v", []string{"start the command with create"}},
		{"typo, with a suggestion", "create regoin=r", []string{`unknown key "regoin" (did you mean region?)`}},
		{"typo of an API name", "create Bandwith=5", []string{`unknown key "Bandwith" (did you mean Bandwidth?)`}},
		{"nothing close", "create colour=blue", []string{`unknown key "colour"; keys: region, vpc, bandwidth`}},
		{"not key=value", "create cn-hangzhou", []string{`"cn-hangzhou" is not key=value`}},
		{"no key", "create =5", []string{`"=5" is not key=value`}},
		{"no value", "create name=", []string{"name has no value"}},
		{"not a number", "create bandwidth=10M", []string{"bandwidth=10M: want a whole number"}},
		{"number too large", "create period=99999999999999999999", []string{"want a whole number"}},
		{"not on or off", "create ipsec=maybe", []string{"ipsec=maybe: want on or off"}},
		{"ssl neither", "create ssl=lots", []string{"ssl=lots: want the number of SSL-VPN clients, on or off"}},
		{"a key twice", "create region=a region=b", []string{"region is given twice"}},
		{"alias and API name", "create region=a RegionId=b", []string{"region and RegionId both set RegionId; give one"}},
		{"ssl and SslConnections", "create ssl=5 SslConnections=6", []string{"ssl and SslConnections both set SslConnections; give one"}},
		{"a tag twice", "create tag.a=1 tag.a=2", []string{"tag a is given twice"}},
		{"empty tag key", "create tag.=x", []string{`unknown key "tag."`}},
		{"open quote", `create name="dev gw`, []string{"a quote is not closed"}},
		{"too long", "create name=" + strings.Repeat("x", maxCommandBytes), []string{"the limit is 4000"}},
		{"too many words", "create" + strings.Repeat(" tag.x=y", maxTokens+5), []string{"the limit is 64"}},
		{"not UTF-8", "create name=\xff", []string{"not valid UTF-8"}},
		{"every problem at once", "create regoin=r bandwidth=ten name= cn-hangzhou",
			[]string{`unknown key "regoin"`, "bandwidth=ten: want a whole number", "name has no value", `"cn-hangzhou" is not key=value`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := parseCommand(tc.text)
			var ce *commandError
			if !errors.As(err, &ce) {
				t.Fatalf("parseCommand = %+v, %v; want a *commandError", cmd, err)
			}
			if len(ce.problems) != len(tc.want) {
				t.Errorf("%d problems %q, want %d", len(ce.problems), ce.problems, len(tc.want))
			}
			for _, w := range tc.want {
				found := false
				for _, p := range ce.problems {
					found = found || strings.Contains(p, w)
				}
				if !found {
					t.Errorf("no problem says %q: %q", w, ce.problems)
				}
			}
		})
	}
}

// TestHelpTextNamesEveryKey: the help cannot fall behind the grammar.
func TestHelpTextNamesEveryKey(t *testing.T) {
	for _, p := range params {
		if p.alias != "" && !strings.Contains(HelpText, p.alias+"=") {
			t.Errorf("HelpText does not mention %s=", p.alias)
		}
	}
	for _, v := range []string{verbCreate, verbCheck, verbHelp, tagPrefix} {
		if !strings.Contains(HelpText, v) {
			t.Errorf("HelpText does not mention %s", v)
		}
	}
	// The example in the help is itself a valid command.
	_, example, _ := strings.Cut(HelpText, "Example:\n")
	cmd, err := parseCommand(strings.TrimSpace(example))
	if err != nil || cmd.verb != verbCreate {
		t.Fatalf("the help's example does not parse: %v", err)
	}
	if _, err := request.Parse(cmd.data); err != nil {
		t.Errorf("the help's example is not a valid request: %v", err)
	}
}

func TestParseDeleteCommand(t *testing.T) {
	c, err := parseCommand("delete vpn-bp1abc")
	if err != nil || c.verb != verbDelete || c.ref != "vpn-bp1abc" || c.region != "" {
		t.Fatalf("delete: %+v %v", c, err)
	}
	c, err = parseCommand("@vpngw DELETE vpn-bp1abc region=cn-shanghai")
	if err != nil || c.ref != "vpn-bp1abc" || c.region != "cn-shanghai" {
		t.Fatalf("delete with region: %+v %v", c, err)
	}
	for text, want := range map[string]string{
		"delete":                         "needs the id",
		"delete vpn-a vpn-b":             "one gateway id",
		"delete vpn-a vpc=vpc-1":         "optionally, region",
		"delete vpn-a region=a region=b": "optionally, region",
	} {
		_, err := parseCommand(text)
		var ce *commandError
		if !errors.As(err, &ce) || !strings.Contains(ce.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}
