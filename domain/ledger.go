package domain

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// Ledger is the whole write-side state: everything Decide needs to check
// every rule. The zero Ledger is not usable; call NewLedger. A Ledger is not
// safe for concurrent use: one sequencer owns it.
//
// The rows keep only what a rule looks at, not the events that made them: a
// province's log holds millions of placements and payments, and the
// sequencer holds them all in memory. Strings that many rows repeat (region
// codes, program, fund and beneficiary ids) are interned as symbols, sets of
// indicators as indicatorSets, and bounded amounts are int64 fen, so that
// the big tables hold no pointers for the garbage collector to follow.
type Ledger struct {
	regions       table[string, region]
	funds         table[string, fund]
	beneficiaries table[string, beneficiary]
	programs      table[string, ProgramDefined]
	payments      rowTable[payment]
	usage         table[usageKey, int] // payments not fully reversed, per program and beneficiary
	loans         table[string, loan]
	placements    rowTable[placement]
	trainings     rowTable[training]
	targets       table[targetKey, TargetSet]
	statistics    table[statisticKey, StatisticReported]
	policies      table[Date, LoanPolicy]
	checkpoint    table[struct{}, CheckpointRecorded] // the last one recorded
	approvals     table[string, approval]             // maker-checker requests
	names         names
	indicatorSets indicatorSets
	marked        bool
}

type region struct {
	name          string
	parent        string
	poorVillage   bool
	creditVillage bool
}

// fund keeps its balance as a decimal: allocations are each bounded, but
// their sum over the years is not.
type fund struct {
	kind    FundKind
	region  string
	balance decimal.Decimal
}

type beneficiary struct {
	kind       BeneficiaryKind  // interned
	region     string           // interned
	categories []categoryPeriod // never mutated in place: copied before growing
}

// categoryPeriod is a CategoryPeriod without its document, which no rule reads.
type categoryPeriod struct {
	category Category // interned
	from, to Date
}

// holds reports whether the beneficiary holds category on date d.
func (b beneficiary) holds(category Category, d Date) bool {
	for _, p := range b.categories {
		if p.category == category && d.within(p.from, p.to) {
			return true
		}
	}
	return false
}

// payment is what a reversal needs of a SubsidyPaid: whom it paid from
// which fund under which program, how much, when, and how much of it has
// been reversed.
type payment struct {
	program, beneficiary, fund, region symbol
	date                               Date
	amount                             fen
	reversed                           fen // the sum of the payment's reversals
}

func (p payment) remaining() fen { return p.amount - p.reversed }

type usageKey struct{ program, beneficiary symbol }

// loan is what the loan rules need of a LoanIssued, and the amounts since.
// Every amount is bounded by the principal, itself a checked amount.
type loan struct {
	borrower, bank, region, guaranteeFund symbol
	issueDate                             Date
	status                                LoanStatus
	poorVillage                           bool
	principal                             fen
	repaid                                fen
	compensated                           fen
	recovered                             fen
	writtenOff                            fen
}

// placement is what ending and reversing a placement need of a PlacementRecorded.
type placement struct {
	beneficiary, region symbol
	indicators          indicatorSet
	date                Date
	ended               bool
	reversed            bool
}

// training is a recorded training; only its existence counts for the rules.
type training struct {
	beneficiary symbol
	date        Date
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
		payments:      newRowTable[payment](),
		usage:         newTable[usageKey, int](),
		loans:         newTable[string, loan](),
		placements:    newRowTable[placement](),
		trainings:     newRowTable[training](),
		targets:       newTable[targetKey, TargetSet](),
		statistics:    newTable[statisticKey, StatisticReported](),
		policies:      newTable[Date, LoanPolicy](),
		checkpoint:    newTable[struct{}, CheckpointRecorded](),
		approvals:     newTable[string, approval](),
		names:         newNames(),
		indicatorSets: newIndicatorSets(),
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
