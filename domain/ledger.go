package domain

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// Ledger is the whole write-side state: everything Decide needs to check
// every rule. The zero Ledger is not usable; call NewLedger. A Ledger is not
// safe for concurrent use: one sequencer owns it.
type Ledger struct {
	regions       table[string, region]
	funds         table[string, fund]
	beneficiaries table[string, beneficiary]
	programs      table[string, ProgramDefined]
	payments      table[string, payment]
	usage         table[usageKey, int] // payments not fully reversed, per program and beneficiary
	loans         table[string, loan]
	placements    table[string, placement]
	trainings     table[string, TrainingRecorded]
	targets       table[targetKey, TargetSet]
	statistics    table[statisticKey, StatisticReported]
	policies      table[Date, LoanPolicy]
	checkpoint    table[struct{}, CheckpointRecorded] // the last one recorded
	approvals     table[string, approval]             // maker-checker requests
	marked        bool
}

type region struct {
	name          string
	parent        string
	poorVillage   bool
	creditVillage bool
}

type fund struct {
	kind    FundKind
	region  string
	balance decimal.Decimal
}

type beneficiary struct {
	kind       BeneficiaryKind
	region     string
	categories []CategoryPeriod // never mutated in place: copied before growing
}

// holds reports whether the beneficiary holds category on date d.
func (b beneficiary) holds(category Category, d Date) bool {
	for _, p := range b.categories {
		if p.Category == category && p.covers(d) {
			return true
		}
	}
	return false
}

type payment struct {
	paid SubsidyPaid
	// reversed is the sum of the payment's reversals; paid.Amount - reversed is what is left.
	reversed decimal.Decimal
}

func (p payment) remaining() decimal.Decimal { return p.paid.Amount.Sub(p.reversed) }

type usageKey struct{ program, beneficiary string }

type loan struct {
	issued      LoanIssued
	status      LoanStatus
	repaid      decimal.Decimal
	compensated decimal.Decimal
	recovered   decimal.Decimal
	writtenOff  decimal.Decimal
}

type placement struct {
	recorded PlacementRecorded
	ended    bool
	reversed bool
}

type targetKey struct {
	region    string
	year      int
	indicator Indicator
	issuer    Issuer
}

type statisticKey struct {
	region    string
	year      int
	indicator Indicator
}

// NewLedger returns an empty ledger holding the default loan policy versions
// (DefaultLoanPolicies); recorded LoanPolicySet events add to or replace them.
func NewLedger() *Ledger {
	l := &Ledger{
		regions:       newTable[string, region](),
		funds:         newTable[string, fund](),
		beneficiaries: newTable[string, beneficiary](),
		programs:      newTable[string, ProgramDefined](),
		payments:      newTable[string, payment](),
		usage:         newTable[usageKey, int](),
		loans:         newTable[string, loan](),
		placements:    newTable[string, placement](),
		trainings:     newTable[string, TrainingRecorded](),
		targets:       newTable[targetKey, TargetSet](),
		statistics:    newTable[statisticKey, StatisticReported](),
		policies:      newTable[Date, LoanPolicy](),
		checkpoint:    newTable[struct{}, CheckpointRecorded](),
		approvals:     newTable[string, approval](),
	}
	for _, p := range DefaultLoanPolicies() {
		l.policies.set(p.EffectiveFrom, p)
	}
	return l
}

func (l *Ledger) tables() []journaled {
	return []journaled{&l.regions, &l.funds, &l.beneficiaries, &l.programs, &l.payments, &l.usage,
		&l.loans, &l.placements, &l.trainings, &l.targets, &l.statistics, &l.policies, &l.checkpoint, &l.approvals}
}

// Mark records the current state as the one Rollback returns to, and starts
// journaling changes. The sequencer marks before deciding a tentative batch
// and marks again once the batch is durably appended.
func (l *Ledger) Mark() {
	for _, t := range l.tables() {
		t.mark()
	}
	l.marked = true
}

// Rollback restores the state at the last Mark, discarding every event
// evolved since. It panics when Mark was never called.
func (l *Ledger) Rollback() {
	assert(l.marked, "Rollback without Mark")
	for _, t := range l.tables() {
		t.rollback()
	}
}

// assert panics on a programmer error: a state that the rules make impossible.
func assert(cond bool, msg string, args ...any) {
	if !cond {
		panic(fmt.Sprintf("domain: assertion failed: "+msg, args...))
	}
}

func unknownEvent(e Event) string     { return fmt.Sprintf("domain: unknown event %T", e) }
func unknownCommand(c Command) string { return fmt.Sprintf("domain: unknown command %T", c) }
