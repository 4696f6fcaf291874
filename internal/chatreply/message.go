package chatreply

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vpngw/vpngw/events"
)

// message is one outcome as the conversation reads it.
type message struct {
	title string // a line: what happened
	lines []string
}

// text is the message as plain text (Slack's fallback, DingTalk's body).
func (m message) text() string {
	return strings.Join(append([]string{m.title}, m.lines...), "\n")
}

// outcome is the CloudEvent in structured mode, with the fields of every
// outcome's data the messages use.
type outcome struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	Data struct {
		Request                    events.RequestRef     `json:"Request"`
		VpnGatewayId               string                `json:"VpnGatewayId"`
		RegionId                   string                `json:"RegionId"`
		VpcId                      string                `json:"VpcId"`
		Name                       string                `json:"Name"`
		Spec                       string                `json:"Spec"`
		Bandwidth                  int                   `json:"Bandwidth"`
		InternetIp                 string                `json:"InternetIp"`
		DisasterRecoveryInternetIp string                `json:"DisasterRecoveryInternetIp"`
		SslVpnInternetIp           string                `json:"SslVpnInternetIp"`
		Stage                      string                `json:"Stage"`
		Code                       string                `json:"Code"`
		Message                    string                `json:"Message"`
		Errors                     []events.FieldError   `json:"Errors"`
		ErrorsOmitted              int                   `json:"ErrorsOmitted"`
		Parameters                 events.GatewayRequest `json:"Parameters"`
		WouldCreate                bool                  `json:"WouldCreate"`
	} `json:"data"`
}

// render makes the message of an outcome event; ok is false for an event
// that is no outcome of one request (a batch's). since is when the command
// came, for how long the gateway took.
func render(body []byte, since time.Time) (message, bool, error) {
	var o outcome
	if err := json.Unmarshal(body, &o); err != nil {
		return message{}, false, fmt.Errorf("read the outcome event: %w", err)
	}
	d := o.Data
	req := d.Request.EventID
	switch o.Type {
	case events.TypeAccepted:
		return message{
			title: fmt.Sprintf("VPN gateway %s is being created (request %s).", d.VpnGatewayId, req),
			lines: []string{fmt.Sprintf("Region %s, VPC %s. Its outcome follows here when it settles, usually within minutes.", d.RegionId, d.VpcId)},
		}, true, nil
	case events.TypeActive:
		m := message{title: fmt.Sprintf("VPN gateway %s is active (request %s).", d.VpnGatewayId, req)}
		if d.InternetIp != "" {
			m.lines = append(m.lines, "Public IP: "+d.InternetIp)
		}
		if d.DisasterRecoveryInternetIp != "" {
			m.lines = append(m.lines, "Disaster recovery IP: "+d.DisasterRecoveryInternetIp)
		}
		if d.SslVpnInternetIp != "" {
			m.lines = append(m.lines, "SSL-VPN IP: "+d.SslVpnInternetIp)
		}
		if d.Bandwidth > 0 {
			m.lines = append(m.lines, fmt.Sprintf("Bandwidth: %d Mbps", d.Bandwidth))
		}
		m.lines = append(m.lines, fmt.Sprintf("Region %s, VPC %s.", d.RegionId, d.VpcId))
		if !since.IsZero() && o.Time.After(since) {
			m.lines = append(m.lines, "Active "+o.Time.Sub(since).Round(time.Second).String()+" after the command.")
		}
		return m, true, nil
	case events.TypeFailed:
		m := message{title: fmt.Sprintf("Request %s failed (%s, at %s): %s", req, d.Code, d.Stage, d.Message)}
		if d.VpnGatewayId != "" {
			m.title = fmt.Sprintf("Request %s failed (%s, at %s; VPN gateway %s): %s", req, d.Code, d.Stage, d.VpnGatewayId, d.Message)
		}
		for _, fe := range d.Errors {
			m.lines = append(m.lines, "• "+fe.Message)
		}
		if d.ErrorsOmitted > 0 {
			m.lines = append(m.lines, fmt.Sprintf("• and %d more", d.ErrorsOmitted))
		}
		m.lines = append(m.lines, "What to do: "+whatToDo(d.Stage, d.Code))
		return m, true, nil
	case events.TypeDeleted:
		return message{title: fmt.Sprintf("VPN gateway %s is deleted (request %s).", d.VpnGatewayId, req),
			lines: []string{fmt.Sprintf("Region %s: DescribeVpnGateways no longer reports it.", d.RegionId)}}, true, nil
	case events.TypeValidated:
		m := message{title: fmt.Sprintf("Request %s passes validation and the policy.", req)}
		if d.WouldCreate {
			m.lines = append(m.lines, "Nothing was created: send the same keys with create to create it.")
		} else {
			m.lines = append(m.lines, "Nothing was created, and create would not create it either: the operator's policy makes it a dry run.")
		}
		return m, true, nil
	}
	return message{}, false, nil
}

// whatToDo is the advice of a failure.
func whatToDo(stage, code string) string {
	switch {
	case stage == events.StageValidation:
		return "correct the keys named above and send the command again; help lists them."
	case stage == events.StagePolicy:
		return "the operator's policy does not allow this request: change it to one the policy allows, or ask the operator."
	case code == events.CodeFinancialLocked:
		return "the account is in arrears: ask whoever pays for it to settle, then send the command again."
	case stage == events.StageDeletion && code == events.CodeNotCreatedByVpngw:
		return "vpngw deletes only gateways it created: check the gateway id with status."
	case stage == events.StageDeletion && code == "DependencyViolation.VpnConnection":
		return "delete the gateway's IPsec-VPN connections first, then send delete again."
	case stage == events.StageDeletion && code == "ChargeTypeViolation":
		return "a subscription gateway is released by unsubscribing in the console, or once it expires."
	case code == events.CodeTimeout:
		return "the gateway did not become active in time: look at it in the console, and delete it before you send the command again."
	}
	return "send the command again later; if it fails again, give the operator the request id."
}
