package projections

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

var seedFlag = flag.Uint64("seed", 0, "replay the property tests with this seed (0: the fixed seeds)")

// seeds are the property tests' fixed seeds, or the one asked with -seed.
func seeds() []uint64 {
	if *seedFlag != 0 {
		return []uint64{*seedFlag}
	}
	return []uint64{1, 2, 3, 4, 5}
}

var (
	propRegions = []domain.RegionDefined{
		{Code: "610000", Name: "陕西省", Date: date("2016-01-01")},
		{Code: "610900", Name: "安康市", ParentCode: "610000", Date: date("2016-01-01")},
		{Code: "610902", Name: "汉滨区", ParentCode: "610900", Date: date("2016-01-01")},
		{Code: "610924", Name: "紫阳县", ParentCode: "610900", Date: date("2016-01-01")},
		{Code: "610200", Name: "铜川市", ParentCode: "610000", Date: date("2016-01-01")},
		{Code: "610924100201", Name: "贫困村", ParentCode: "610924", PoorVillage: true, Date: date("2016-01-01")},
	}
	propLeaves = []string{"610902", "610924", "610200", "610924100201"}
	propInds   = []domain.Indicator{domain.NewUrbanJobs, domain.ReemployedUnemployed, domain.GraduatesEmployed}
)

// randomHistory returns a random but plausible history: events of
// independent things arrive in any date order; an event that follows another
// (a repayment after its loan's issue) is never dated before it.
func randomHistory(seed uint64, n int) [][]domain.Event {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	randDay := func(after domain.Date) domain.Date {
		base := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)
		if !after.IsZero() {
			base = after.Time()
		}
		return domain.DateOf(base.AddDate(0, 0, rng.IntN(3*365)))
	}
	var out [][]domain.Event
	for _, r := range propRegions {
		out = append(out, []domain.Event{r})
	}
	for _, f := range []string{"EMP", "GUA", "RES"} {
		out = append(out, []domain.Event{domain.FundOpened{FundID: f, Name: f, Kind: domain.FundEmploymentSubsidy, RegionCode: "610900", Date: date("2016-01-01")}})
	}
	type placed struct {
		ev domain.PlacementRecorded
	}
	var placements []domain.PlacementRecorded
	var loans []domain.LoanIssued
	var payments []domain.SubsidyPaid
	for i := range n {
		leaf := propLeaves[rng.IntN(len(propLeaves))]
		switch k := rng.IntN(10); {
		case k < 3:
			inds := []domain.Indicator{propInds[rng.IntN(len(propInds))]}
			if rng.IntN(2) == 0 {
				inds = append(inds, domain.NewUrbanJobs)
			}
			inds = dedupe(inds)
			p := domain.PlacementRecorded{PlacementID: fmt.Sprint("P", i), BeneficiaryID: fmt.Sprint("B", rng.IntN(20)),
				Kind: domain.UrbanJob, RegionCode: leaf, Date: randDay(domain.Date{}), Indicators: inds}
			placements = append(placements, p)
			out = append(out, []domain.Event{p})
		case k == 3 && len(placements) > 0:
			p := placements[rng.IntN(len(placements))]
			out = append(out, []domain.Event{domain.PlacementReversed{PlacementID: p.PlacementID, BeneficiaryID: p.BeneficiaryID,
				RegionCode: p.RegionCode, PlacementDate: p.Date, Indicators: p.Indicators, Date: randDay(p.Date), Reason: "error"}})
		case k == 4:
			l := domain.LoanIssued{LoanID: fmt.Sprint("L", i), BorrowerID: "B1", Bank: "ABC", Principal: money(fmt.Sprint(10000 + rng.IntN(90000))),
				IssueDate: randDay(domain.Date{}), GuaranteeFundID: "GUA", RegionCode: leaf, PoorVillage: leaf == "610924100201", JobsCreated: rng.IntN(4)}
			loans = append(loans, l)
			out = append(out, []domain.Event{l})
		case k == 5 && len(loans) > 0:
			out = append(out, []domain.Event{randomLoanEvent(rng, loans[rng.IntN(len(loans))], randDay)})
		case k == 6:
			s := domain.SubsidyPaid{PaymentID: fmt.Sprint("S", i), BeneficiaryID: fmt.Sprint("B", rng.IntN(20)), FundID: "EMP",
				RegionCode: leaf, Amount: money(fmt.Sprint(100+rng.IntN(5000), ".50")), Date: randDay(domain.Date{})}
			payments = append(payments, s)
			out = append(out, []domain.Event{domain.FundAllocated{FundID: "EMP", RegionCode: "610900", Amount: s.Amount, Date: s.Date}, s})
		case k == 7 && len(payments) > 0:
			s := payments[rng.IntN(len(payments))]
			out = append(out, []domain.Event{domain.SubsidyReversed{PaymentID: s.PaymentID, BeneficiaryID: s.BeneficiaryID, FundID: s.FundID,
				RegionCode: s.RegionCode, Amount: money("100"), Date: randDay(s.Date)}})
		case k == 8:
			region := propRegions[1+rng.IntN(len(propRegions)-1)].Code
			issuer := domain.Issuers[rng.IntN(len(domain.Issuers))]
			out = append(out, []domain.Event{target(region, 2017+rng.IntN(3), propInds[rng.IntN(len(propInds))], issuer,
				fmt.Sprint(1+rng.IntN(5)), domain.Floor, randDay(domain.Date{}).String())})
		default:
			out = append(out, []domain.Event{domain.StatisticReported{RegionCode: leaf, Year: 2017 + rng.IntN(3),
				Indicator: domain.RegisteredUnemploymentRate, Value: money(fmt.Sprint("3.", rng.IntN(99))), Date: randDay(domain.Date{})},
				domain.TrainingRecorded{TrainingID: fmt.Sprint("T", i), BeneficiaryID: fmt.Sprint("B", rng.IntN(20)),
					CourseKind: domain.Vocational, RegionCode: leaf, Date: randDay(domain.Date{})}})
		}
	}
	return out
}

func dedupe(inds []domain.Indicator) []domain.Indicator {
	if len(inds) == 2 && inds[0] == inds[1] {
		return inds[:1]
	}
	return inds
}

func randomLoanEvent(rng *rand.Rand, l domain.LoanIssued, randDay func(domain.Date) domain.Date) domain.Event {
	d := randDay(l.IssueDate)
	amount := money(fmt.Sprint(1 + rng.IntN(5000)))
	switch rng.IntN(6) {
	case 0:
		return domain.LoanRepaid{LoanID: l.LoanID, Bank: l.Bank, Principal: amount, Interest: money("12.34"), Date: d}
	case 1:
		return domain.LoanDefaulted{LoanID: l.LoanID, Date: d}
	case 2:
		return domain.LoanCompensated{LoanID: l.LoanID, GuaranteeFundID: "GUA", Bank: l.Bank, Amount: amount, Date: d}
	case 3:
		return domain.LoanRecovered{LoanID: l.LoanID, GuaranteeFundID: "GUA", Amount: amount, Date: d}
	case 4:
		return domain.LoanWrittenOff{LoanID: l.LoanID, FundID: "RES", GuaranteeFundID: "GUA", Amount: amount, Date: d}
	}
	return domain.InterestSubsidyPaid{LoanID: l.LoanID, FundID: "EMP", RegionCode: l.RegionCode, Amount: amount, PeriodEnd: d}
}

// storeOf appends a history, one commit per command, keeping only the
// events keep accepts.
func storeOf(tb testing.TB, history [][]domain.Event, keep func(domain.Event) bool) *memory.Store {
	tb.Helper()
	s := memory.New()
	for i, evs := range history {
		var kept []domain.Event
		for _, e := range evs {
			if keep(e) {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			continue
		}
		if _, err := s.Append(context.Background(), commit(i, kept...)); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// everyView renders every view of p as of asOf into one JSON document,
// without the log positions (which differ between a log and its prefix).
func everyView(tb testing.TB, p *Projector, asOf string, loans []string) string {
	tb.Helper()
	var views []any
	for _, r := range propRegions {
		for year := 2017; year <= 2019; year++ {
			rep, err := p.Progress(r.Code, year, "", asOf)
			rep.Position = 0
			views = append(views, rep, errText(err))
			pf, err := p.Portfolio(r.Code, year, asOf)
			pf.Position = 0
			views = append(views, pf, errText(err))
		}
		pf, err := p.Portfolio(r.Code, 0, asOf)
		pf.Position = 0
		views = append(views, pf, errText(err))
	}
	for _, f := range []string{"EMP", "GUA", "RES"} {
		rep, err := p.Fund(f, asOf)
		rep.Position = 0
		views = append(views, rep, errText(err))
	}
	for _, l := range loans {
		rep, err := p.Loan(l, asOf)
		rep.Position = 0
		views = append(views, rep, errText(err))
	}
	data, err := json.Marshal(views)
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func loanIDs(history [][]domain.Event) []string {
	var ids []string
	for _, evs := range history {
		for _, e := range evs {
			if l, ok := e.(domain.LoanIssued); ok {
				ids = append(ids, l.LoanID)
			}
		}
	}
	return ids
}

func TestAsOfEqualsTruncatedReplay(t *testing.T) {
	for _, seed := range seeds() {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			history := randomHistory(seed, 400)
			loans := loanIDs(history)
			full := project(t, storeOf(t, history, func(domain.Event) bool { return true }))
			rng := rand.New(rand.NewPCG(seed, 7))
			for range 6 {
				cut := domain.DateOf(time.Date(2016, 12, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(4*365)))
				asOf := cut.String()
				truncated := project(t, storeOf(t, history, func(e domain.Event) bool { return !e.BusinessDate().After(cut) }))
				got, want := everyView(t, full, asOf, loans), everyView(t, truncated, asOf, loans)
				if got != want {
					t.Fatalf("as of %s (replay with -seed %d):\ngot  %s\nwant %s", asOf, seed, firstDiff(got, want), firstDiff(want, got))
				}
			}
		})
	}
}

// firstDiff shows where a differs from b.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo, hi := max(0, i-300), min(len(a), i+200)
	return a[lo:hi]
}

var _ eventstore.Store = (*memory.Store)(nil)
