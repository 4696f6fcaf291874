package vpcsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

// maxSeedBytes bounds a seed document: thousands of VPCs, far more than any
// local trial needs.
const maxSeedBytes = 1 << 20

// Resource IDs a seed may give: the type prefix, then lower-case letters and
// digits, as the real service's IDs are and as vpngw's request validator
// requires of VpcId and VSwitchId.
var (
	seedVPCID     = regexp.MustCompile(`^vpc-[a-z0-9]{1,60}$`)
	seedVSwitchID = regexp.MustCompile(`^vsw-[a-z0-9]{1,60}$`)
	seedRegionID  = regexp.MustCompile(`^[a-z]{2,}-[a-z0-9-]{1,60}$`)
	// A zone is its region's ID and a letter: cn-hangzhou-h, ap-southeast-1a.
	seedZoneSuffix = regexp.MustCompile(`^-?[a-z0-9]{1,8}$`)
)

// LoadSeed is the seed the emulator starts with when value is what
// VPNGW_EMULATOR_SEED (local stack) or -vpc-seed (vpcsim) says: DefaultSeed
// plus what value adds. value is a seed document (ParseSeed) given inline
// when it starts with '{', and otherwise the path of a file holding one; an
// empty value adds nothing. The error names the file, or "inline", and the
// field at fault; the caller adds the variable or flag.
func LoadSeed(value string) (Seed, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return DefaultSeed(), nil
	}
	var doc []byte
	where := "inline JSON"
	if strings.HasPrefix(value, "{") {
		doc = []byte(value)
	} else {
		f, err := os.Open(value)
		if err != nil {
			return Seed{}, fmt.Errorf("%w (want a seed file's path, or the seed's JSON itself starting with {)", err)
		}
		defer f.Close()
		doc, err = io.ReadAll(io.LimitReader(f, maxSeedBytes+1))
		if err != nil {
			return Seed{}, fmt.Errorf("read %s: %w", value, err)
		}
		where = value
	}
	add, err := ParseSeed(doc)
	if err != nil {
		return Seed{}, fmt.Errorf("%s: %w", where, err)
	}
	s, err := DefaultSeed().Add(add)
	if err != nil {
		return Seed{}, fmt.Errorf("%s: %w", where, err)
	}
	return s, nil
}

// ParseSeed reads a seed document: a JSON object with VPCs (each VpcId and
// RegionId), VSwitches (each VSwitchId, VpcId and ZoneId; RegionId is the
// VPC's when left out) and, optionally, Regions to serve that hold no VPC
// yet. Every VPC's region is served. Member names are the API's and
// case-sensitive; an unknown member, a missing or malformed ID, a vSwitch
// of a VPC the document does not hold and an ID given twice are refused,
// naming the field (VSwitches[1].ZoneId).
func ParseSeed(doc []byte) (Seed, error) {
	if len(doc) > maxSeedBytes {
		return Seed{}, fmt.Errorf("the seed is over %d bytes", maxSeedBytes)
	}
	var s Seed
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Seed{}, fmt.Errorf("not a seed document (%v): want {\"VPCs\":[{\"VpcId\":...,\"RegionId\":...}],\"VSwitches\":[{\"VSwitchId\":...,\"VpcId\":...,\"ZoneId\":...}]}", err)
	}
	if dec.More() {
		return Seed{}, errors.New("anything after the seed's JSON object is refused")
	}
	// encoding/json matches member names without regard to case; the
	// seed's are the API's, exactly.
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	var top map[string]json.RawMessage
	_ = json.Unmarshal(doc, &top)
	for name, raw := range top {
		allowed := map[string][]string{"VPCs": {"VpcId", "RegionId"}, "VSwitches": {"VSwitchId", "VpcId", "ZoneId", "RegionId"}}
		if name != "Regions" && allowed[name] == nil {
			bad("unknown member %q: want Regions, VPCs or VSwitches", name)
			continue
		}
		var items []map[string]json.RawMessage
		_ = json.Unmarshal(raw, &items)
		for i, it := range items {
			for k := range it {
				if !slices.Contains(allowed[name], k) {
					bad("%s[%d]: unknown member %q: want %s", name, i, k, strings.Join(allowed[name], ", "))
				}
			}
		}
	}
	regions := map[string]bool{}
	for i, r := range s.Regions {
		if !seedRegionID.MatchString(r) {
			bad("Regions[%d] %q is not a region ID such as cn-hangzhou", i, r)
		}
		regions[r] = true
	}
	vpcs := map[string]VPC{}
	for i, v := range s.VPCs {
		switch {
		case !seedVPCID.MatchString(v.ID):
			bad("VPCs[%d].VpcId %q is not a VPC ID: \"vpc-\" and then lower-case letters and digits", i, v.ID)
		case vpcs[v.ID] != (VPC{}):
			bad("VPCs[%d].VpcId %q is given twice", i, v.ID)
		}
		if !seedRegionID.MatchString(v.RegionID) {
			bad("VPCs[%d].RegionId %q is not a region ID such as cn-hangzhou", i, v.RegionID)
		}
		vpcs[v.ID] = v
		if !regions[v.RegionID] {
			regions[v.RegionID] = true
			s.Regions = append(s.Regions, v.RegionID)
		}
	}
	seen := map[string]bool{}
	for i := range s.VSwitches {
		sw := &s.VSwitches[i]
		switch {
		case !seedVSwitchID.MatchString(sw.ID):
			bad("VSwitches[%d].VSwitchId %q is not a vSwitch ID: \"vsw-\" and then lower-case letters and digits", i, sw.ID)
		case seen[sw.ID]:
			bad("VSwitches[%d].VSwitchId %q is given twice", i, sw.ID)
		}
		seen[sw.ID] = true
		vpc, ok := vpcs[sw.VPCID]
		if !ok {
			bad("VSwitches[%d].VpcId %q is not one of the seed's VPCs: add it to VPCs", i, sw.VPCID)
			continue
		}
		if sw.RegionID == "" {
			sw.RegionID = vpc.RegionID
		} else if sw.RegionID != vpc.RegionID {
			bad("VSwitches[%d].RegionId %q is not its VPC's region %q", i, sw.RegionID, vpc.RegionID)
		}
		if strings.TrimSpace(sw.ZoneID) == "" {
			bad("VSwitches[%d].ZoneId is missing: name the vSwitch's zone, such as %s-h", i, vpc.RegionID)
		} else if z, ok := strings.CutPrefix(sw.ZoneID, vpc.RegionID); !ok || !seedZoneSuffix.MatchString(z) {
			bad("VSwitches[%d].ZoneId %q is not a zone of %s (want %s-h or %sa, say)", i, sw.ZoneID, vpc.RegionID, vpc.RegionID, vpc.RegionID)
		}
	}
	if len(errs) > 0 {
		return Seed{}, errors.Join(errs...)
	}
	return s, nil
}

// Add returns s with more's regions, VPCs and vSwitches added. One given in
// both exactly alike is kept once; the same ID with other data is refused.
func (s Seed) Add(more Seed) (Seed, error) {
	out := Seed{
		Regions:   slices.Clone(s.Regions),
		VPCs:      append([]VPC(nil), s.VPCs...),
		VSwitches: append([]VSwitch(nil), s.VSwitches...),
	}
	regions := map[string]bool{}
	for _, r := range out.Regions {
		regions[r] = true
	}
	vpcs := map[string]VPC{}
	for _, v := range out.VPCs {
		vpcs[v.ID] = v
	}
	vsws := map[string]VSwitch{}
	for _, v := range out.VSwitches {
		vsws[v.ID] = v
	}
	var errs []error
	for _, r := range more.Regions {
		if !regions[r] {
			regions[r] = true
			out.Regions = append(out.Regions, r)
		}
	}
	for i, v := range more.VPCs {
		if have, ok := vpcs[v.ID]; ok {
			if have != v {
				errs = append(errs, fmt.Errorf("VPCs[%d].VpcId %q is already seeded in region %s", i, v.ID, have.RegionID))
			}
			continue
		}
		vpcs[v.ID] = v
		out.VPCs = append(out.VPCs, v)
	}
	for i, v := range more.VSwitches {
		if have, ok := vsws[v.ID]; ok {
			if have != v {
				errs = append(errs, fmt.Errorf("VSwitches[%d].VSwitchId %q is already seeded, in VPC %s zone %s", i, v.ID, have.VPCID, have.ZoneID))
			}
			continue
		}
		vsws[v.ID] = v
		out.VSwitches = append(out.VSwitches, v)
	}
	if len(errs) > 0 {
		return Seed{}, errors.Join(errs...)
	}
	return out, out.Validate()
}
