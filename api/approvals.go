package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
)

// FourEyes says which commands need a second person (maker-checker). The
// zero value needs none: API.md's roles apply as written.
type FourEyes struct {
	WriteOffs bool // loan write-offs
	Reversals bool // subsidy and placement reversals
	// PaymentsOver, when set, holds every payment (subsidy, interest
	// subsidy, compensation) of a larger amount.
	PaymentsOver *decimal.Decimal
}

// ParseFourEyes reads the --four-eyes flag: a comma-separated list of
// write-offs, reversals and payments-over=AMOUNT; "" or "off" is none.
func ParseFourEyes(s string) (FourEyes, error) {
	var f FourEyes
	if s == "" || s == "off" {
		return f, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, value, hasValue := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case name == "write-offs" && !hasValue:
			f.WriteOffs = true
		case name == "reversals" && !hasValue:
			f.Reversals = true
		case name == "payments-over" && hasValue:
			amount, err := domain.ParseMoney(value)
			if err != nil {
				return FourEyes{}, fmt.Errorf("four-eyes: payments-over=%q: %w", value, err)
			}
			f.PaymentsOver = &amount
		default:
			return FourEyes{}, fmt.Errorf("four-eyes: %q: want write-offs, reversals or payments-over=AMOUNT", part)
		}
	}
	return f, nil
}

// String gives the flag's form back, for logs.
func (f FourEyes) String() string {
	var parts []string
	if f.WriteOffs {
		parts = append(parts, "write-offs")
	}
	if f.Reversals {
		parts = append(parts, "reversals")
	}
	if f.PaymentsOver != nil {
		parts = append(parts, "payments-over="+f.PaymentsOver.String())
	}
	if len(parts) == 0 {
		return "off"
	}
	return strings.Join(parts, ",")
}

// Command kinds (commandRoute.kind) by what the four-eyes flag calls them.
var (
	writeOffKinds = map[string]bool{"write_off_loan": true}
	reversalKinds = map[string]bool{"reverse_subsidy": true, "reverse_placement": true}
	paymentKinds  = map[string]bool{"pay_subsidy": true, "pay_interest_subsidy": true, "compensate_loan": true}
)

// holds reports whether commands of a kind may be held for approval.
func (f FourEyes) holds(kind string) bool {
	return (f.WriteOffs && writeOffKinds[kind]) || (f.Reversals && reversalKinds[kind]) ||
		(f.PaymentsOver != nil && paymentKinds[kind])
}

// needs reports whether this command must wait for approval.
func (f FourEyes) needs(kind string, cmd domain.Command) bool {
	if !f.holds(kind) {
		return false
	}
	if !paymentKinds[kind] {
		return true
	}
	return paymentAmount(cmd).GreaterThan(*f.PaymentsOver)
}

func paymentAmount(cmd domain.Command) decimal.Decimal {
	switch c := cmd.(type) {
	case domain.PaySubsidy:
		return c.Amount
	case domain.PayInterestSubsidy:
		return c.Amount
	case domain.CompensateLoan:
		return c.Amount
	}
	panic(fmt.Sprintf("api: %T is not a payment", cmd))
}

// heldResponse documents the 202 of a command that may be held.
func (s *Server) heldResponse(route commandRoute, op map[string]any) map[string]any {
	if s.fourEyes.holds(route.kind) {
		op["responses"].(map[string]any)["202"] = jsonResponse("held for a second person's approval (four eyes): "+
			"request_id names the request an approver decides at POST /v1/approvals/{request_id}; nothing takes effect before",
			ref("Receipt"))
	}
	return op
}

// withApprovals adapts the command table to the four-eyes policy: a kind
// that is held may be asked for by an officer too (it takes effect only
// when an approver approves), and answers 202 when held. It adds the
// endpoint on which approvers decide.
func (s *Server) withApprovals(routes []commandRoute) []commandRoute {
	for i := range routes {
		if s.fourEyes.holds(routes[i].kind) && (writeOffKinds[routes[i].kind] || reversalKinds[routes[i].kind]) {
			routes[i].roles = makers
		}
	}
	return append(routes, commandRoute{"POST /v1/approvals/{request_id}", "decide_approval", approvers,
		buildApprovalDecision, http.StatusCreated, approvalBody{}})
}

// makers may ask for a held command.
var makers = []Role{RoleOfficer, RoleApprover}

// hold wraps a command that needs a second person into a request for
// approval, answered 202; any other command passes unchanged.
func (s *Server) hold(r *http.Request, route commandRoute, cmd domain.Command) (domain.Command, int) {
	if !s.fourEyes.needs(route.kind, cmd) {
		return cmd, route.status
	}
	return domain.RequestApproval{RequestID: newID(), Maker: principalOf(r.Context()).Name, Command: cmd}, http.StatusAccepted
}

// approvalBody is the body of POST /v1/approvals/{request_id}.
type approvalBody struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// approvalDecisions are the values of approvalBody.Decision.
var approvalDecisions = []string{"approve", "reject"}

func buildApprovalDecision(in input) (domain.Command, error) {
	var b approvalBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	id, approver := in.r.PathValue("request_id"), principalOf(in.r.Context()).Name
	switch b.Decision {
	case "approve":
		return domain.ApproveRequest{RequestID: id, Approver: approver, Reason: b.Reason}, nil
	case "reject":
		return domain.RejectRequest{RequestID: id, Approver: approver, Reason: b.Reason}, nil
	}
	return nil, badRequest("decision", "is approve or reject")
}
