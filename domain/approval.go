package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Maker-checker (four eyes): a command that needs a second person is first
// recorded as a request carrying the command as JSON; it takes effect only
// when a different person approves it, and then in the same commit as the
// approval, so the approval and its effect are one atomic fact in the log.
// Which commands need approval is the server's policy; the domain keeps the
// requests honest: one decision each, never by the person who asked.

// Wire names of the approval events.
const (
	TypeApprovalRequested = "approval.requested.v1"
	TypeApprovalGranted   = "approval.granted.v1"
	TypeApprovalRejected  = "approval.rejected.v1"
)

// Limits of approvals.
const (
	maxActorBytes          = 200  // a person's name as the tokens file gives it
	maxApprovalCommandJSON = 8192 // the pending command
)

// Rules of approvals.
var (
	// ErrApprovalNotFound: no request has this id.
	ErrApprovalNotFound = newRule(NotFound, "approval request not found")
	// ErrApprovalDecided: the request was approved or rejected already.
	ErrApprovalDecided = newRule(Conflict, "approval request already decided")
	// ErrSelfApproval: the person who made the request may not decide it.
	ErrSelfApproval = newRule(Refused, "the maker of a request may not approve or reject it")
	// ErrNotApprovable: the command is not one that waits for approval.
	ErrNotApprovable = newRule(Invalid, "command cannot be held for approval")
)

// approvable maps the name of each command that may wait for approval to
// its decoder: the one table of commands carried inside events.
var approvable = map[string]func([]byte) (Command, error){
	"pay_subsidy":          decodeCommandAs[PaySubsidy],
	"reverse_subsidy":      decodeCommandAs[ReverseSubsidy],
	"pay_interest_subsidy": decodeCommandAs[PayInterestSubsidy],
	"compensate_loan":      decodeCommandAs[CompensateLoan],
	"write_off_loan":       decodeCommandAs[WriteOffLoan],
	"reverse_placement":    decodeCommandAs[ReversePlacement],
}

// ApprovableName returns the name under which a command is held for
// approval, and false for a command that cannot be held.
func ApprovableName(cmd Command) (string, bool) {
	switch cmd.(type) {
	case PaySubsidy:
		return "pay_subsidy", true
	case ReverseSubsidy:
		return "reverse_subsidy", true
	case PayInterestSubsidy:
		return "pay_interest_subsidy", true
	case CompensateLoan:
		return "compensate_loan", true
	case WriteOffLoan:
		return "write_off_loan", true
	case ReversePlacement:
		return "reverse_placement", true
	}
	return "", false
}

// DecodeApprovable rebuilds a held command from its name and JSON.
func DecodeApprovable(name string, data []byte) (Command, error) {
	decode, ok := approvable[name]
	if !ok {
		return nil, fail(ErrNotApprovable, "command_type", "%q", name)
	}
	cmd, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("domain: decode held %s: %w", name, err)
	}
	return cmd, nil
}

func decodeCommandAs[T Command](data []byte) (Command, error) {
	var c T
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the command")
	}
	return c, nil
}

// RequestApproval holds Command until a different person approves it. The
// command is decided now too, so that the maker hears at once of a refusal;
// it is decided again, against the state of that day, when approved.
type RequestApproval struct {
	RequestID string  `json:"request_id"`
	Maker     string  `json:"maker"`
	Command   Command `json:"-"`
}

// ApproveRequest approves a held command, which takes effect in the same commit.
type ApproveRequest struct {
	RequestID string `json:"request_id"`
	Approver  string `json:"approver"`
	Reason    string `json:"reason,omitempty"`
}

// RejectRequest rejects a held command, which then never takes effect.
type RejectRequest struct {
	RequestID string `json:"request_id"`
	Approver  string `json:"approver"`
	Reason    string `json:"reason"`
}

func (RequestApproval) isCommand() {}
func (ApproveRequest) isCommand()  {}
func (RejectRequest) isCommand()   {}

// ApprovalRequested: Maker asked for Command (of CommandType, as JSON) to be
// approved. Date is the held command's business date.
type ApprovalRequested struct {
	RequestID   string          `json:"request_id"`
	Maker       string          `json:"maker"`
	CommandType string          `json:"command_type"`
	Command     json.RawMessage `json:"command"`
	Date        Date            `json:"date"`
}

// ApprovalGranted: Approver approved the request of Maker; the command's
// events follow in the same commit.
type ApprovalGranted struct {
	RequestID   string `json:"request_id"`
	Maker       string `json:"maker"`
	Approver    string `json:"approver"`
	CommandType string `json:"command_type"`
	Reason      string `json:"reason,omitempty"`
	Date        Date   `json:"date"`
}

// ApprovalRejected: Approver rejected the request of Maker; nothing took effect.
type ApprovalRejected struct {
	RequestID   string `json:"request_id"`
	Maker       string `json:"maker"`
	Approver    string `json:"approver"`
	CommandType string `json:"command_type"`
	Reason      string `json:"reason"`
	Date        Date   `json:"date"`
}

func (ApprovalRequested) isEvent() {}
func (ApprovalGranted) isEvent()   {}
func (ApprovalRejected) isEvent()  {}

// EventType returns the wire name.
func (ApprovalRequested) EventType() string { return TypeApprovalRequested }

// EventType returns the wire name.
func (ApprovalGranted) EventType() string { return TypeApprovalGranted }

// EventType returns the wire name.
func (ApprovalRejected) EventType() string { return TypeApprovalRejected }

// ApprovalStream is the stream of one approval request.
func ApprovalStream(requestID string) string { return "approval-" + requestID }

// StreamID returns the request's stream.
func (e ApprovalRequested) StreamID() string { return ApprovalStream(e.RequestID) }

// StreamID returns the request's stream.
func (e ApprovalGranted) StreamID() string { return ApprovalStream(e.RequestID) }

// StreamID returns the request's stream.
func (e ApprovalRejected) StreamID() string { return ApprovalStream(e.RequestID) }

// BusinessDate is the held command's business date: approving belongs to
// the transaction it approves (the envelope records when it happened).
func (e ApprovalRequested) BusinessDate() Date { return e.Date }

// BusinessDate is the held command's business date.
func (e ApprovalGranted) BusinessDate() Date { return e.Date }

// BusinessDate is the held command's business date.
func (e ApprovalRejected) BusinessDate() Date { return e.Date }

// approval is a request in the write-side state.
type approval struct {
	requested ApprovalRequested
	decided   bool
}

func (l *Ledger) decideRequestApproval(c RequestApproval) ([]Event, *Error) {
	if err := first(checkID("request_id", c.RequestID), text("maker", c.Maker, maxActorBytes)); err != nil {
		return nil, err
	}
	if l.approvals.has(c.RequestID) {
		return nil, fail(ErrDuplicateID, "request_id", "approval request %s", c.RequestID)
	}
	name, ok := ApprovableName(c.Command)
	if !ok {
		return nil, fail(ErrNotApprovable, "command", "%T", c.Command)
	}
	effects, err := l.decide(c.Command)
	if err != nil {
		return nil, err
	}
	data, jerr := json.Marshal(c.Command)
	if jerr != nil || len(data) > maxApprovalCommandJSON {
		return nil, fail(ErrTooLong, "command", "at most %d bytes of JSON", maxApprovalCommandJSON)
	}
	return []Event{ApprovalRequested{RequestID: c.RequestID, Maker: c.Maker, CommandType: name,
		Command: data, Date: effects[0].BusinessDate()}}, nil
}

// pendingApproval returns an undecided request that approver may decide.
func (l *Ledger) pendingApproval(requestID, approver string) (ApprovalRequested, *Error) {
	if err := first(checkID("request_id", requestID), text("approver", approver, maxActorBytes)); err != nil {
		return ApprovalRequested{}, err
	}
	a, ok := l.approvals.get(requestID)
	switch {
	case !ok:
		return ApprovalRequested{}, fail(ErrApprovalNotFound, "request_id", "%s", requestID)
	case a.decided:
		return ApprovalRequested{}, fail(ErrApprovalDecided, "request_id", "%s", requestID)
	case a.requested.Maker == approver:
		return ApprovalRequested{}, fail(ErrSelfApproval, "approver", "%s made request %s", approver, requestID)
	}
	return a.requested, nil
}

func (l *Ledger) decideApproveRequest(c ApproveRequest) ([]Event, *Error) {
	req, err := l.pendingApproval(c.RequestID, c.Approver)
	if err != nil {
		return nil, err
	}
	if err := optionalText("reason", c.Reason, maxReasonBytes); err != nil {
		return nil, err
	}
	cmd, derr := DecodeApprovable(req.CommandType, req.Command)
	if derr != nil {
		panic(fmt.Sprintf("domain: approval %s holds a command that does not decode: %v", req.RequestID, derr))
	}
	effects, err := l.decide(cmd)
	if err != nil {
		return nil, err
	}
	granted := ApprovalGranted{RequestID: req.RequestID, Maker: req.Maker, Approver: c.Approver,
		CommandType: req.CommandType, Reason: c.Reason, Date: req.Date}
	return append([]Event{granted}, effects...), nil
}

func (l *Ledger) decideRejectRequest(c RejectRequest) (ApprovalRejected, *Error) {
	req, err := l.pendingApproval(c.RequestID, c.Approver)
	if err != nil {
		return ApprovalRejected{}, err
	}
	if err := text("reason", c.Reason, maxReasonBytes); err != nil {
		return ApprovalRejected{}, err
	}
	return ApprovalRejected{RequestID: req.RequestID, Maker: req.Maker, Approver: c.Approver,
		CommandType: req.CommandType, Reason: c.Reason, Date: req.Date}, nil
}

func (l *Ledger) evolveApproval(e Event) {
	switch e := e.(type) {
	case ApprovalRequested:
		assert(!l.approvals.has(e.RequestID), "approval %s requested twice", e.RequestID)
		l.approvals.set(e.RequestID, approval{requested: e})
	case ApprovalGranted, ApprovalRejected:
		id := approvalIDOf(e)
		a, ok := l.approvals.get(id)
		assert(ok && !a.decided, "decision on unknown or decided approval %s", id)
		a.decided = true
		l.approvals.set(id, a)
	default:
		panic(unknownEvent(e))
	}
}

func approvalIDOf(e Event) string {
	switch e := e.(type) {
	case ApprovalGranted:
		return e.RequestID
	case ApprovalRejected:
		return e.RequestID
	}
	panic(unknownEvent(e))
}

// PendingApproval returns a request that is not yet decided, for the API
// to show an approver what they are about to approve.
func (l *Ledger) PendingApproval(requestID string) (ApprovalRequested, bool) {
	a, ok := l.approvals.get(requestID)
	if !ok || a.decided {
		return ApprovalRequested{}, false
	}
	return a.requested, true
}
