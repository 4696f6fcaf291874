package events

// Failed is the data of io.vpngw.gateway.failed: the request will not produce
// a gateway. Stage says where it stopped; Code is vpngw's own (Code*) or the
// API's error code.
type Failed struct {
	Request      RequestRef   `json:"Request"`
	Stage        string       `json:"Stage"`
	Code         string       `json:"Code"`
	Message      string       `json:"Message"`
	Errors       []FieldError `json:"Errors,omitempty"`
	RequestId    string       `json:"RequestId,omitempty"`
	VpnGatewayId string       `json:"VpnGatewayId,omitempty"`
	RegionId     string       `json:"RegionId,omitempty"`
}

// Stages at which a request can fail.
const (
	StageValidation   = "validation"
	StagePolicy       = "policy"
	StageCreate       = "create"
	StageProvisioning = "provisioning"
)

// Codes of failures that vpngw itself decides (API failures carry the API's code).
const (
	CodeInvalidRequest  = "InvalidRequest"
	CodePolicyDenied    = "PolicyDenied"
	CodeTimeout         = "Timeout"
	CodeNotFound        = "NotFound"
	CodeFinancialLocked = "FinancialLocked"
)

// FieldError is one rule a request broke: the parameter (as the API names it;
// Tags[i].Key for a tag), the value given, what is allowed, and a sentence
// for people.
type FieldError struct {
	Field   string `json:"Field"`
	Value   string `json:"Value,omitempty"`
	Allowed string `json:"Allowed,omitempty"`
	Message string `json:"Message"`
}
