package domain_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/domain"
)

// held is a request of officer-wang to pay P2 800 from ES under POST.
func held(id string) domain.RequestApproval {
	return domain.RequestApproval{RequestID: id, Maker: "officer-wang", Command: pay("PAY-"+id, "POST", "P2", "ES", "800", "2017-06-01")}
}

func approve(id, approver string) domain.ApproveRequest {
	return domain.ApproveRequest{RequestID: id, Approver: approver, Reason: "核对无误"}
}

func reject(id, approver string) domain.RejectRequest {
	return domain.RejectRequest{RequestID: id, Approver: approver, Reason: "依据不足"}
}

func TestApprovalRules(t *testing.T) {
	paid := domain.SubsidyPaid{PaymentID: "PAY-A1", ProgramID: "POST", SubsidyType: domain.PublicWelfarePost, BeneficiaryID: "P2",
		FundID: "ES", RegionCode: "610922101201", Amount: yuan("800"), Date: d("2017-06-01"), Document: "安人社发〔2017〕9号"}
	command, err := json.Marshal(held("A1").Command)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, []ruleCase{
		{name: "a request records the held command as JSON and pays nothing yet", when: held("A1"),
			want: []domain.Event{domain.ApprovalRequested{RequestID: "A1", Maker: "officer-wang", CommandType: "pay_subsidy",
				Command: command, Date: d("2017-06-01")}}},
		{name: "a request whose command would be refused now is refused at once", when: domain.RequestApproval{RequestID: "A1", Maker: "officer-wang",
			Command: pay("PAY-A1", "POST", "P2", "EMPTY", "1", "2017-06-01")}, rule: domain.ErrFundOverdrawn, field: "amount"},
		{name: "a request of a command that is never held is invalid", when: domain.RequestApproval{RequestID: "A1", Maker: "officer-wang",
			Command: domain.CloseLoan{LoanID: "L1", Date: d("2017-06-01")}}, rule: domain.ErrNotApprovable, field: "command"},
		{name: "a request without a maker is invalid", when: domain.RequestApproval{RequestID: "A1", Command: held("A1").Command},
			rule: domain.ErrRequired, field: "maker"},
		{name: "a request id used twice conflicts", given: []domain.Command{held("A1")}, when: held("A1"), rule: domain.ErrDuplicateID, field: "request_id"},
		{name: "an approval by another person pays in the same decision", given: []domain.Command{held("A1")}, when: approve("A1", "approver-li"),
			want: []domain.Event{domain.ApprovalGranted{RequestID: "A1", Maker: "officer-wang", Approver: "approver-li",
				CommandType: "pay_subsidy", Reason: "核对无误", Date: d("2017-06-01")}, paid}},
		{name: "the maker may not approve their own request", given: []domain.Command{held("A1")}, when: approve("A1", "officer-wang"),
			rule: domain.ErrSelfApproval, field: "approver"},
		{name: "the maker may not reject their own request", given: []domain.Command{held("A1")}, when: reject("A1", "officer-wang"),
			rule: domain.ErrSelfApproval, field: "approver"},
		{name: "an unknown request is not found", when: approve("A9", "approver-li"), rule: domain.ErrApprovalNotFound, field: "request_id"},
		{name: "an approved request cannot be approved again", given: []domain.Command{held("A1"), approve("A1", "approver-li")},
			when: approve("A1", "approver-zhou"), rule: domain.ErrApprovalDecided, field: "request_id"},
		{name: "a rejected request cannot be approved", given: []domain.Command{held("A1"), reject("A1", "approver-li")},
			when: approve("A1", "approver-zhou"), rule: domain.ErrApprovalDecided, field: "request_id"},
		{name: "a rejection needs a reason", given: []domain.Command{held("A1")}, when: domain.RejectRequest{RequestID: "A1", Approver: "approver-li"},
			rule: domain.ErrRequired, field: "reason"},
		{name: "an approval whose command the ledger now refuses records nothing",
			given: []domain.Command{held("A1"), domain.RequestApproval{RequestID: "A2", Maker: "officer-wang", Command: pay("PAY-A1", "POST", "P2", "ES", "100", "2017-06-01")},
				approve("A1", "approver-li")},
			when: approve("A2", "approver-li"), rule: domain.ErrDuplicateID, field: "payment_id"},
	})
}

func TestApprovedCommandTakesEffectOnlyOnApproval(t *testing.T) {
	l := given(t, held("A1"))
	before, _ := l.FundBalance("ES")
	t.Run("a pending request leaves the fund untouched", func(t *testing.T) {
		if got, want := before, yuan("1000000"); !got.Equal(want) {
			t.Errorf("ES balance = %s, want %s", got, want)
		}
	})
	t.Run("a pending request can be read back with its command", func(t *testing.T) {
		req, ok := l.PendingApproval("A1")
		if !ok {
			t.Fatal("A1 is not pending")
		}
		cmd, err := domain.DecodeApprovable(req.CommandType, req.Command)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := cmd.(domain.PaySubsidy).Amount, yuan("800"); !got.Equal(want) {
			t.Errorf("held amount = %s, want %s", got, want)
		}
	})
	events, err := l.Decide(approve("A1", "approver-li"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		l.Evolve(e)
	}
	t.Run("the approval pays", func(t *testing.T) {
		after, _ := l.FundBalance("ES")
		if got, want := after, before.Sub(yuan("800")); !got.Equal(want) {
			t.Errorf("ES balance = %s, want %s", got, want)
		}
	})
	t.Run("an approved request is no longer pending", func(t *testing.T) {
		if _, ok := l.PendingApproval("A1"); ok {
			t.Error("A1 is still pending")
		}
	})
	t.Run("approval events move no money themselves", func(t *testing.T) {
		if got := domain.Postings(events[0]); got != nil {
			t.Errorf("postings of %T = %v, want none", events[0], got)
		}
	})
}

func TestDecodeApprovableRefusesWhatIsNotHeld(t *testing.T) {
	cases := []struct{ name, kind, data string }{
		{"an unknown command name", "close_loan", `{}`},
		{"an unknown field", "pay_subsidy", `{"payment_id":"P","extra":1}`},
		{"trailing data", "pay_subsidy", `{"payment_id":"P"} {}`},
		{"a wrong type", "write_off_loan", `{"loan_id":5}`},
	}
	for _, c := range cases {
		t.Run("it refuses "+c.name, func(t *testing.T) {
			if _, err := domain.DecodeApprovable(c.kind, []byte(c.data)); err == nil {
				t.Errorf("DecodeApprovable(%s, %s) = nil error, want one", c.kind, c.data)
			}
		})
	}
}

func TestReadAuditRules(t *testing.T) {
	at := time.Date(2025, 11, 22, 9, 0, 0, 0, time.UTC)
	read := domain.RecordRead{Reader: "auditor-zhao", Role: "auditor", Path: "/v1/history", Query: "account=beneficiary:P1", Subject: "beneficiary:P1", Time: at}
	long := make([]byte, 2049)
	for i := range long {
		long[i] = 'a'
	}
	runCases(t, []ruleCase{
		{name: "a read is recorded in the stream of audited reads", when: read, want: []domain.Event{domain.ReadAudited(read)}},
		{name: "a read without a reader is invalid", when: domain.RecordRead{Role: "auditor", Path: "/v1/events", Time: at}, rule: domain.ErrRequired, field: "reader"},
		{name: "a read without a time is invalid", when: domain.RecordRead{Reader: "a", Role: "auditor", Path: "/v1/events"}, rule: domain.ErrRequired, field: "time"},
		{name: "a query string beyond the limit is refused, not cut", when: domain.RecordRead{Reader: "a", Role: "auditor", Path: "/v1/events", Query: string(long), Time: at},
			rule: domain.ErrTooLong, field: "query"},
	})
	t.Run("a read dates no view and moves no money", func(t *testing.T) {
		e := domain.ReadAudited(read)
		if !e.BusinessDate().IsZero() || domain.Postings(e) != nil || e.StreamID() != domain.ReadAuditStream {
			t.Errorf("got date %v, postings %v, stream %s", e.BusinessDate(), domain.Postings(e), e.StreamID())
		}
	})
}
