package projections

import (
	"context"
	"encoding/json"
	"testing"
	"unsafe"

	"github.com/hrss-ledger/ledger/domain"
)

// legSamples has events of every type, with distinct ids in every field,
// and repayments with each leg zero in turn.
func legSamples() []domain.Event {
	d := date("2018-05-01")
	return []domain.Event{
		domain.RegionDefined{Code: "610900", Name: "n", Date: d},
		domain.FundOpened{FundID: "F1", Name: "n", Kind: domain.FundEmploymentSubsidy, RegionCode: "610900", Date: d},
		domain.FundAllocated{FundID: "F1", RegionCode: "610902", Amount: money("10.5"), Date: d, Document: "doc"},
		domain.BeneficiaryRegistered{BeneficiaryID: "B1", Kind: domain.Person, RegionCode: "610900", Date: d},
		domain.CategoryCertified{BeneficiaryID: "B1", From: d},
		domain.ProgramDefined{ProgramID: "PG", ValidFrom: d},
		domain.SubsidyPaid{PaymentID: "S1", ProgramID: "PG", BeneficiaryID: "B1", FundID: "F1", RegionCode: "610900", Amount: money("5000"), Date: d},
		domain.SubsidyReversed{PaymentID: "S1", ProgramID: "PG", BeneficiaryID: "B2", FundID: "F2", RegionCode: "610900", Amount: money("0.01"), Date: d},
		domain.LoanIssued{LoanID: "L1", BorrowerID: "B1", Bank: "ABC", Principal: money("50000"), IssueDate: d, GuaranteeFundID: "G", RegionCode: "610900"},
		domain.LoanRepaid{LoanID: "L1", Bank: "ABC", Principal: money("100"), Interest: money("2.5"), Date: d},
		domain.LoanRepaid{LoanID: "L2", Bank: "BOC", Principal: money("100"), Interest: money("0"), Date: d},
		domain.LoanRepaid{LoanID: "L3", Bank: "CCB", Principal: money("0"), Interest: money("3"), Date: d},
		domain.LoanRepaid{LoanID: "L4", Bank: "ICBC", Principal: money("0"), Interest: money("0"), Date: d},
		domain.InterestSubsidyPaid{LoanID: "L1", FundID: "F3", RegionCode: "610900", Amount: money("1500"), PeriodEnd: d},
		domain.LoanDefaulted{LoanID: "L1", Date: d},
		domain.LoanCompensated{LoanID: "L1", GuaranteeFundID: "G", Bank: "ABC", Amount: money("30"), Date: d},
		domain.LoanRecovered{LoanID: "L1", GuaranteeFundID: "G2", Amount: money("20"), Date: d},
		domain.LoanWrittenOff{LoanID: "L1", FundID: "RES", GuaranteeFundID: "G3", Amount: money("10"), Date: d},
		domain.LoanClosed{LoanID: "L1", Date: d},
		placement("P1", "B1", "610900", "2018-05-01", domain.NewUrbanJobs),
		domain.PlacementEnded{PlacementID: "P1", Date: d},
		domain.PlacementReversed{PlacementID: "P1", BeneficiaryID: "B1", RegionCode: "610900", PlacementDate: d, Date: d},
		domain.TrainingRecorded{TrainingID: "T1", BeneficiaryID: "B1", CourseKind: domain.Vocational, RegionCode: "610900", Date: d},
		target("610900", 2018, domain.NewUrbanJobs, domain.City, "1", domain.Floor, "2018-05-01"),
		domain.StatisticReported{RegionCode: "610900", Year: 2018, Indicator: domain.RegisteredUnemploymentRate, Value: money("3.2"), Date: d},
		domain.LoanPolicySet{},
		domain.CheckpointRecorded{LogSize: 1, Date: d},
		domain.ApprovalRequested{RequestID: "R", Command: json.RawMessage(`{}`), Date: d},
		domain.ApprovalGranted{RequestID: "R", Date: d},
		domain.ApprovalRejected{RequestID: "R", Date: d},
		domain.ReadAudited{Reader: "r"},
	}
}

// sameAsPostings checks that an event's legs name the accounts and amounts
// domain.Postings gives, in the same order.
func sameAsPostings(t *testing.T, ev domain.Event) {
	t.Helper()
	var buf [maxLegs]leg
	got := legs(ev, &buf)
	want := domain.Postings(ev)
	if len(got) != len(want) {
		t.Fatalf("%T: got %d legs, want %d", ev, len(got), len(want))
	}
	for i, l := range got {
		w := want[i]
		if l.from.name() != w.From || l.to.name() != w.To || !l.amount.Equal(w.Amount) || l.amount.String() != w.Amount.String() {
			t.Errorf("%T leg %d: got %s -> %s %s, want %s -> %s %s", ev, i, l.from.name(), l.to.name(), l.amount, w.From, w.To, w.Amount)
		}
	}
}

func TestLegsEqualDomainPostings(t *testing.T) {
	t.Run("every event type has a sample", func(t *testing.T) {
		have := map[string]bool{}
		for _, e := range legSamples() {
			have[e.EventType()] = true
		}
		for _, typ := range domain.EventTypes() {
			if !have[typ] {
				t.Errorf("no sample of %s: add one to legSamples", typ)
			}
		}
	})
	t.Run("each sample posts as the domain posts it", func(t *testing.T) {
		for _, e := range legSamples() {
			sameAsPostings(t, e)
		}
	})
	t.Run("every event of generated logs posts as the domain posts it", func(t *testing.T) {
		generateLog(20000, 6, func(evs []domain.Event) {
			for _, e := range evs {
				sameAsPostings(t, e)
			}
		})
		for _, evs := range randomHistory(7, 2000) {
			for _, e := range evs {
				sameAsPostings(t, e)
			}
		}
	})
}

// TestEveryAccountOpenedOnce: after whole logs, every account has its own
// name, which AccountIdx maps back to it: the numbers kept on the owners
// (a fund, a loan, a region's budget, BankIdx) say truly whether an account
// exists, so that opening one never looks its name up first.
func TestEveryAccountOpenedOnce(t *testing.T) {
	for _, seed := range []uint64{41, 42, 43} {
		store := storeOf(t, randomHistory(seed, 800), func(domain.Event) bool { return true })
		// Half way, through a snapshot and a load, as a restart does.
		head, _ := store.Head(context.Background())
		p := reopen(t, prefix(t, store, head/2))
		if err := p.CatchUp(context.Background(), store); err != nil {
			t.Fatal(err)
		}
		if got, want := len(p.s.AccountIdx), p.s.Accounts.N-1; got != want {
			t.Fatalf("seed %d: %d names for %d accounts", seed, got, want)
		}
		for i := 1; i < p.s.Accounts.N; i++ {
			if name := *p.s.AccountNames.at(i); p.s.AccountIdx[name] != int32(i) {
				t.Fatalf("seed %d: account %d, %s, is found as %d", seed, i, name, p.s.AccountIdx[name])
			}
		}
	}
}

// TestAccountIsOneCacheLine: a posting reads an account's fields and no
// other of its memory; a field added to account, rather than beside it
// (AccountNames), costs a rebuild a second cache line per posting.
func TestAccountIsOneCacheLine(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the layout is sized for 64-bit pointers")
	}
	if got := unsafe.Sizeof(account{}); got != 64 {
		t.Errorf("got an account of %d bytes, want 64", got)
	}
}
