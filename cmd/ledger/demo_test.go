package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/api/vault"
	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/eventstore/writer"
)

// demoLog is what the tests read back from the log.
type demoLog struct {
	types  map[string]int
	events []domain.Event
}

func readDemoLog(t *testing.T, store eventstore.Store) demoLog {
	t.Helper()
	log := demoLog{types: make(map[string]int)}
	err := store.Read(context.Background(), 0, func(e eventstore.Event) error {
		if e.Meta.Actor != demoActor || !strings.HasPrefix(e.Meta.CommandID, demoCommandPrefix) {
			t.Errorf("position %d: actor %q, command %q", e.Position, e.Meta.Actor, e.Meta.CommandID)
		}
		ev, err := domain.Decode(e.Type, e.Data)
		if err != nil {
			return err
		}
		log.types[e.Type]++
		log.events = append(log.events, ev)
		return nil
	})
	if err != nil {
		t.Fatalf("read the log: %v", err)
	}
	return log
}

func TestDemoLoadsOnceWithEveryStage(t *testing.T) {
	ctx := context.Background()
	store, err := jetstream.OpenEmbedded(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	v, err := vault.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := writer.Open(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := loadDemo(ctx, w, v); err != nil {
		t.Fatalf("load: %v", err)
	}
	took := time.Since(start)
	head := w.Head()
	plan, err := planDemo(v.Pseudonym)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo: %d commands, %d events in %v (%.0f commands/s)", len(plan.items), head, took,
		float64(len(plan.items))/took.Seconds())

	t.Run("a second load appends nothing", func(t *testing.T) {
		if err := loadDemo(ctx, w, v); err != nil {
			t.Fatal(err)
		}
		if got := w.Head(); got != head {
			t.Errorf("head after the second load: got %d, want %d", got, head)
		}
	})
	t.Run("a load after a restart appends nothing", func(t *testing.T) {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		w2, err := writer.Open(ctx, store)
		if err != nil {
			t.Fatal(err)
		}
		defer w2.Close()
		if err := loadDemo(ctx, w2, v); err != nil {
			t.Fatal(err)
		}
		if got := w2.Head(); got != head {
			t.Errorf("head after a restart and load: got %d, want %d", got, head)
		}
	})

	log := readDemoLog(t, store)
	t.Run("the log holds every kind of event", func(t *testing.T) {
		for _, typ := range []string{domain.TypeRegionDefined, domain.TypeFundOpened, domain.TypeFundAllocated,
			domain.TypeBeneficiaryRegistered, domain.TypeCategoryCertified, domain.TypeProgramDefined,
			domain.TypeSubsidyPaid, domain.TypeSubsidyReversed, domain.TypeLoanIssued, domain.TypeLoanRepaid,
			domain.TypeInterestSubsidyPaid, domain.TypeLoanDefaulted, domain.TypeLoanCompensated,
			domain.TypeLoanRecovered, domain.TypeLoanWrittenOff, domain.TypeLoanClosed, domain.TypePlacementRecorded,
			domain.TypePlacementEnded, domain.TypePlacementReversed, domain.TypeTrainingRecorded,
			domain.TypeTargetSet, domain.TypeStatisticReported} {
			if log.types[typ] == 0 {
				t.Errorf("no %s event", typ)
			}
		}
		t.Logf("event types: %v", log.types)
	})
	checkDemoFigures(t, plan, log)
	checkDemoPersonalData(t, v, log)
}

// checkDemoFigures recounts figures from the events alone and compares them
// with what the generator intended.
func checkDemoFigures(t *testing.T, plan *demoPlan, log demoLog) {
	reversed := make(map[string]bool)
	for _, ev := range log.events {
		if e, ok := ev.(domain.PlacementReversed); ok {
			reversed[e.PlacementID] = true
		}
	}
	persons := func(ind domain.Indicator, year int) int64 {
		who := make(map[string]bool)
		for _, ev := range log.events {
			e, ok := ev.(domain.PlacementRecorded)
			if ok && !reversed[e.PlacementID] && e.Date.Year() == year && strings.HasPrefix(e.RegionCode, "6109") &&
				containsIndicator(e.Indicators, ind) {
				who[e.BeneficiaryID] = true
			}
		}
		return int64(len(who))
	}
	loans := func(year int) (int64, decimal.Decimal) {
		var n int64
		sum := decimal.Zero
		for _, ev := range log.events {
			if e, ok := ev.(domain.LoanIssued); ok && e.IssueDate.Year() == year && strings.HasPrefix(e.RegionCode, "6109") {
				n++
				sum = sum.Add(e.Principal)
			}
		}
		return n, sum
	}
	count2017, amount2017 := loans(2017)
	tests := []struct {
		name      string
		got, want int64
	}{
		{"Ankang's 2017 new urban jobs are 2032 distinct persons (1:10 of 20321)", persons(domain.NewUrbanJobs, 2017), 2032},
		{"Ankang's 2017 new urban jobs are what the generator intended",
			persons(domain.NewUrbanJobs, 2017), plan.tally.actual(codeAnkang, 2017, domain.NewUrbanJobs)},
		{"Ankang's 2017 re-employed unemployed are 737 (1:10 of 7372)", persons(domain.ReemployedUnemployed, 2017), 737},
		{"Ankang's 2026 hard-to-employ placed are what the generator intended",
			persons(domain.HardToEmployPlaced, 2026), plan.tally.actual(codeAnkang, 2026, domain.HardToEmployPlaced)},
		{"Ankang's 2017 loans are what the generator intended",
			count2017, plan.tally.actual(codeAnkang, 2017, domain.LoansIssuedCount)},
		{"Ankang's 2017 loan amount is what the generator intended",
			amount2017.Shift(2).IntPart(), plan.tally.actual(codeAnkang, 2017, domain.LoansIssuedAmount)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %d, want %d", tt.got, tt.want)
			}
		})
	}
	t.Logf("Ankang 2017: %d loans, %s yuan", count2017, amount2017)
}

func containsIndicator(inds []domain.Indicator, want domain.Indicator) bool {
	for _, ind := range inds {
		if ind == want {
			return true
		}
	}
	return false
}

// checkDemoPersonalData: personal fields are in the log only sealed, and the
// vault opens them back to an ID number whose pseudonym is the beneficiary id.
func checkDemoPersonalData(t *testing.T, v *vault.Vault, log demoLog) {
	t.Run("personal data is sealed and opens with the person's key", func(t *testing.T) {
		checked := 0
		for _, ev := range log.events {
			e, ok := ev.(domain.BeneficiaryRegistered)
			if !ok || e.Kind != domain.Person {
				continue
			}
			plain, err := v.Open(e.BeneficiaryID, e.Personal)
			if err != nil {
				t.Fatalf("open %s: %v", e.BeneficiaryID, err)
			}
			var who demoIdentity
			if err := json.Unmarshal(plain, &who); err != nil {
				t.Fatal(err)
			}
			if err := domain.ValidateIDNumber(who.IDNumber); err != nil {
				t.Errorf("ID number %s: %v", who.IDNumber, err)
			}
			if got := v.Pseudonym(who.IDNumber); got != e.BeneficiaryID {
				t.Errorf("pseudonym of the sealed ID number: got %s, want %s", got, e.BeneficiaryID)
			}
			if checked++; checked == 20 {
				return
			}
		}
		t.Errorf("only %d persons registered", checked)
	})
}

func TestDemoPlanIsDeterministicAndValid(t *testing.T) {
	pseudonym := func(id string) string { return domain.Pseudonym([]byte("demo-test-key"), id) }
	first, err := planDemo(pseudonym)
	if err != nil {
		t.Fatal(err)
	}
	second, err := planDemo(pseudonym)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("two plans are the same commands in the same order", func(t *testing.T) {
		if len(first.items) != len(second.items) {
			t.Fatalf("got %d commands, then %d", len(second.items), len(first.items))
		}
		for i := range first.items {
			a, _ := demoFingerprint(first.items[i].cmd)
			b, _ := demoFingerprint(second.items[i].cmd)
			if a != b {
				t.Fatalf("command %d differs: %s then %s", i, demoBrief(first.items[i].cmd), demoBrief(second.items[i].cmd))
			}
		}
	})
	t.Run("identifiers carry valid checksums", func(t *testing.T) {
		for _, it := range first.items {
			reg, ok := it.cmd.(domain.RegisterBeneficiary)
			if !ok {
				continue
			}
			if err := domain.ValidateIDNumber(reg.IDNumber); reg.Kind == domain.Person && err != nil {
				t.Errorf("%s: %v", reg.IDNumber, err)
			}
			if err := domain.ValidateCreditCode(reg.CreditCode); reg.Kind == domain.Enterprise && err != nil {
				t.Errorf("%s: %v", reg.CreditCode, err)
			}
		}
	})
	t.Run("nothing happens after the demo's last day", func(t *testing.T) {
		for _, it := range first.items {
			if it.at.After(demoLastDay) {
				t.Errorf("%s on %s", demoBrief(it.cmd), it.at)
			}
		}
	})
	t.Run("every command is accepted by the domain in order", func(t *testing.T) {
		l := domain.NewLedger()
		for i, it := range first.items {
			events, err := l.Decide(it.cmd)
			if err != nil {
				t.Fatalf("command %d %T %s refused: %v", i, it.cmd, demoBrief(it.cmd), err)
			}
			for _, e := range events {
				l.Evolve(e)
			}
		}
	})
}
