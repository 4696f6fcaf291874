package provision

import (
	"encoding/json"
	"strconv"

	"github.com/vpngw/vpngw/events"
	"github.com/vpngw/vpngw/internal/jsonread"
)

// decodeParams decodes a record's Params, the request as it is sent, as
// json.Unmarshal does. Params are what json.Marshal wrote: that form is read
// in place (see package jsonread); anything else (an escape in a string, a
// name in other case, a repeated name, a value of another type) is left to
// json.Unmarshal, whose answer, error included, stands.
func decodeParams(data []byte) (events.GatewayRequest, error) {
	if r, ok := marshalledParams(data); ok {
		return r, nil
	}
	var r events.GatewayRequest
	err := json.Unmarshal(data, &r)
	return r, err
}

// paramNames are the members of events.GatewayRequest's JSON form, in the
// order paramField takes them.
var paramNames = [...]string{
	"RegionId", "VpcId", "Bandwidth", "Name", "InstanceChargeType", "Period", "AutoPay", "EnableIpsec",
	"EnableSsl", "SslConnections", "VSwitchId", "VpnType", "ClientToken", "NetworkType",
	"DisasterRecoveryVSwitchId", "ResourceGroupId", "Tags",
}

// paramField returns where the member paramNames[i] goes in r: a *string,
// **int, **bool or *[]events.Tag.
func paramField(r *events.GatewayRequest, i int) any {
	switch i {
	case 0:
		return &r.RegionId
	case 1:
		return &r.VpcId
	case 2:
		return &r.Bandwidth
	case 3:
		return &r.Name
	case 4:
		return &r.InstanceChargeType
	case 5:
		return &r.Period
	case 6:
		return &r.AutoPay
	case 7:
		return &r.EnableIpsec
	case 8:
		return &r.EnableSsl
	case 9:
		return &r.SslConnections
	case 10:
		return &r.VSwitchId
	case 11:
		return &r.VpnType
	case 12:
		return &r.ClientToken
	case 13:
		return &r.NetworkType
	case 14:
		return &r.DisasterRecoveryVSwitchId
	case 15:
		return &r.ResourceGroupId
	default:
		return &r.Tags
	}
}

// marshalledParams reads data in the form json.Marshal writes of an
// events.GatewayRequest; ok is false for anything else.
func marshalledParams(data []byte) (r events.GatewayRequest, ok bool) {
	if !jsonread.ValidObject(data) {
		return r, false
	}
	ok = true
	var seen uint32
	jsonread.Members(data, func(name, raw []byte) {
		if !ok {
			return
		}
		i := paramIndex(name)
		if i < 0 || seen&(1<<i) != 0 {
			ok = false
			return
		}
		seen |= 1 << i
		if string(raw) == "null" {
			return // json.Unmarshal leaves the field as it is: zero
		}
		switch f := paramField(&r, i).(type) {
		case *string:
			*f, ok = jsonread.Unquote(raw)
		case **int:
			n, err := strconv.ParseInt(string(raw), 10, 64)
			ok = err == nil && n == int64(int(n))
			v := int(n)
			*f = &v
		case **bool:
			b := string(raw) == "true"
			ok = b || string(raw) == "false"
			*f = &b
		case *[]events.Tag:
			*f, ok = marshalledTags(raw)
		}
	})
	return r, ok
}

func paramIndex(name []byte) int {
	for i := range paramNames {
		if paramNames[i] == string(name) {
			return i
		}
	}
	return -1
}

// marshalledTags reads a Tags array as json.Marshal writes it.
func marshalledTags(raw []byte) (tags []events.Tag, ok bool) {
	if raw[0] != '[' {
		return nil, false
	}
	ok = true
	tags = []events.Tag{}
	jsonread.Elements(raw, func(elem []byte) {
		if !ok {
			return
		}
		if elem[0] != '{' {
			ok = false
			return
		}
		var t events.Tag
		var seenKey, seenValue bool
		jsonread.Members(elem, func(name, v []byte) {
			if !ok {
				return
			}
			var dst *string
			switch {
			case string(name) == "Key" && !seenKey:
				dst, seenKey = &t.Key, true
			case string(name) == "Value" && !seenValue:
				dst, seenValue = &t.Value, true
			default:
				ok = false
				return
			}
			if string(v) == "null" {
				return
			}
			*dst, ok = jsonread.Unquote(v)
		})
		tags = append(tags, t)
	})
	return tags, ok
}
