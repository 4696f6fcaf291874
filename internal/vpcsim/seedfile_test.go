package vpcsim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const mySeed = `{
  "VPCs": [{"VpcId": "vpc-bp1mine000000001", "RegionId": "cn-hangzhou"},
           {"VpcId": "vpc-k1amine000000001", "RegionId": "ap-southeast-5"}],
  "VSwitches": [
    {"VSwitchId": "vsw-bp1mine000000001", "VpcId": "vpc-bp1mine000000001", "ZoneId": "cn-hangzhou-h"},
    {"VSwitchId": "vsw-bp1mine000000002", "VpcId": "vpc-bp1mine000000001", "ZoneId": "cn-hangzhou-i"},
    {"VSwitchId": "vsw-k1amine000000001", "VpcId": "vpc-k1amine000000001", "RegionId": "ap-southeast-5", "ZoneId": "ap-southeast-5a"}
  ]
}`

// A seed adds VPCs and vSwitches to the default ones, given inline or in a
// file, and the emulator then creates gateways in them; a region that only
// the seed names is served.
func TestLoadSeedAddsToTheDefault(t *testing.T) {
	file := filepath.Join(t.TempDir(), "seed.json")
	if err := os.WriteFile(file, []byte(mySeed), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{"inline": mySeed, "file": file} {
		s, err := LoadSeed(value)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		def := DefaultSeed()
		if len(s.VPCs) != len(def.VPCs)+2 || len(s.VSwitches) != len(def.VSwitches)+3 || len(s.Regions) != len(def.Regions)+1 {
			t.Fatalf("%s: %d VPCs, %d vSwitches, %d regions: want the default's plus 2, 3, 1", name, len(s.VPCs), len(s.VSwitches), len(s.Regions))
		}
		sim := startSim(t, WithSeed(s))
		c := sim.client(t)
		r := sim.createRequest()
		r.VpcId, r.VSwitchId, r.DisasterRecoveryVSwitchId = "vpc-bp1mine000000001", "vsw-bp1mine000000001", "vsw-bp1mine000000002"
		mustCreate(t, c, r)
	}
	// The default seed itself, and a seed that repeats one of its VPCs
	// exactly, which is kept once.
	if s, err := LoadSeed(""); err != nil || len(s.VPCs) != len(DefaultSeed().VPCs) {
		t.Fatalf("empty value: %v", err)
	}
	if _, err := LoadSeed(`{"VPCs":[{"VpcId":"vpc-bp1vpngwdemo0000001","RegionId":"cn-hangzhou"}]}`); err != nil {
		t.Fatalf("a default VPC repeated alike: %v", err)
	}
}

// A bad seed is refused naming the field at fault and what is wanted.
func TestLoadSeedNamesTheField(t *testing.T) {
	for _, c := range []struct{ name, value, want string }{
		{"missing file", "/nonexistent/seed.json", "/nonexistent/seed.json"},
		{"not JSON", "{VPCs", "not a seed document"},
		{"unknown member", `{"Vpcs":[]}`, `unknown member "Vpcs"`},
		{"bad VPC ID", `{"VPCs":[{"VpcId":"vsw-bp1x","RegionId":"cn-hangzhou"}]}`, `VPCs[0].VpcId "vsw-bp1x"`},
		{"no region", `{"VPCs":[{"VpcId":"vpc-bp1x"}]}`, `VPCs[0].RegionId ""`},
		{"no zone", `{"VPCs":[{"VpcId":"vpc-bp1x","RegionId":"cn-hangzhou"}],"VSwitches":[{"VSwitchId":"vsw-bp1x","VpcId":"vpc-bp1x"}]}`, "VSwitches[0].ZoneId is missing"},
		{"zone of another region", `{"VPCs":[{"VpcId":"vpc-bp1x","RegionId":"cn-hangzhou"}],"VSwitches":[{"VSwitchId":"vsw-bp1x","VpcId":"vpc-bp1x","ZoneId":"cn-beijing-f"}]}`, `VSwitches[0].ZoneId "cn-beijing-f"`},
		{"unknown VPC", `{"VSwitches":[{"VSwitchId":"vsw-bp1x","VpcId":"vpc-bp1y","ZoneId":"cn-hangzhou-h"}]}`, `VSwitches[0].VpcId "vpc-bp1y"`},
		{"twice", `{"VPCs":[{"VpcId":"vpc-bp1x","RegionId":"cn-hangzhou"},{"VpcId":"vpc-bp1x","RegionId":"cn-hangzhou"}]}`, `VPCs[1].VpcId "vpc-bp1x" is given twice`},
		{"a default VPC elsewhere", `{"VPCs":[{"VpcId":"vpc-bp1vpngwdemo0000001","RegionId":"cn-beijing"}]}`, `VPCs[0].VpcId "vpc-bp1vpngwdemo0000001" is already seeded`},
		{"trailing", `{"VPCs":[]} {}`, "after the seed"},
	} {
		_, err := LoadSeed(c.value)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// Every sample VPC of the default seed has two vSwitches in different
// zones, as a dual-tunnel region needs.
func TestDefaultSeedHasTheSampleVPCs(t *testing.T) {
	s := DefaultSeed()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, v := range SampleVPCs {
		zones := map[string]bool{}
		for _, sw := range s.VSwitches {
			if sw.VPCID == v.ID {
				zones[sw.ZoneID] = true
			}
		}
		if len(zones) != 2 {
			t.Errorf("%s has vSwitches in zones %v, want two zones", v.ID, zones)
		}
	}
}
