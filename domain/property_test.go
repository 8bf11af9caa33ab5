package domain_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/shopspring/decimal"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "replay the property tests with this one seed (0: the fixed seeds)")
	stepsFlag = flag.Int("steps", 500, "commands per random sequence in the property tests")
)

// propertySeeds is how many fixed seeds the property tests run; -short runs fewer.
const (
	propertySeeds      = 40
	propertySeedsShort = 8
	firstSeed          = 20170301
)

func seeds(t *testing.T) []uint64 {
	if *seedFlag != 0 {
		return []uint64{*seedFlag}
	}
	n := propertySeeds
	if testing.Short() {
		n = propertySeedsShort
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = firstSeed + uint64(i)
	}
	return out
}

// generator makes random commands over small pools of ids, so that many are
// accepted and many refused, with a business date that mostly moves forward.
type generator struct {
	r        *rand.Rand
	day      domain.Date
	payments int // payment ids handed out so far
	ledger   *domain.Ledger
}

var (
	poolFunds         = []string{"ES", "UI", "G", "R", "EMPTY", "F0", "F1"}
	poolBeneficiaries = []string{"P1", "P2", "P3", "E1", "Q0", "Q1", "Q2"}
	poolPrograms      = []string{"STARTUP", "POST", "STABLE", "X0"}
	poolRegions       = []string{"610000", "610900", "610902", "610922101201", "610902001001", "610999"}
)

func (g *generator) pick(pool []string) string { return pool[g.r.IntN(len(pool))] }

func (g *generator) id(prefix string, n int) string { return fmt.Sprintf("%s%d", prefix, g.r.IntN(n)) }

// amount returns a random amount in fen, mostly small, sometimes large or zero.
func (g *generator) amount() decimal.Decimal {
	switch g.r.IntN(10) {
	case 0:
		return decimal.Zero
	case 1:
		return decimal.New(g.r.Int64N(300_000_000), -2)
	default:
		return decimal.New(g.r.Int64N(2_000_000), -2)
	}
}

func (g *generator) date() domain.Date {
	if g.r.IntN(8) == 0 {
		return domain.MustDate("2017-01-02") // sometimes far in the past
	}
	t := g.day.Time().AddDate(0, 0, g.r.IntN(3))
	g.day = domain.DateOf(t)
	return g.day
}

// personID returns a resident ID number with a valid check character.
func personID(n int) string {
	first17 := fmt.Sprintf("610902199%08d", n%100000000)[:17]
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return first17 + string("10X98765432"[sum%11])
}

func (g *generator) command() domain.Command {
	switch g.r.IntN(24) {
	case 0:
		return domain.OpenFund{FundID: g.id("F", 2), Name: "基金", Kind: domain.FundKinds[g.r.IntN(4)], RegionCode: g.pick(poolRegions), Date: g.date()}
	case 1, 2:
		return domain.AllocateFund{FundID: g.pick(poolFunds), Amount: g.amount().Mul(decimal.NewFromInt(10)), Date: g.date(), Document: "doc"}
	case 3:
		return domain.RegisterBeneficiary{BeneficiaryID: g.id("Q", 3), Kind: domain.Person, IDNumber: personID(101 + g.r.IntN(3)),
			RegionCode: g.pick(poolRegions), Date: g.date(),
			Categories: []domain.CategoryPeriod{{Category: domain.Categories[g.r.IntN(8)], From: domain.MustDate("2017-01-01"), To: g.date()}}}
	case 4:
		return domain.CertifyCategory{BeneficiaryID: g.pick(poolBeneficiaries), Category: domain.Categories[g.r.IntN(8)], From: g.date(), Document: "认定"}
	case 5:
		return domain.DefineProgram{ProgramID: "X0", SubsidyType: domain.JobSearch, Name: "求职创业补贴", AmountRule: domain.AmountRule{Max: g.amount()},
			LimitPerBeneficiary: g.r.IntN(3), ValidFrom: domain.MustDate("2017-01-01")}
	case 6, 7, 8:
		g.payments++
		return domain.PaySubsidy{PaymentID: fmt.Sprintf("PAY%d", g.payments), ProgramID: g.pick(poolPrograms), BeneficiaryID: g.pick(poolBeneficiaries),
			FundID: g.likely("ES", poolFunds), Amount: g.subsidyAmount(), Date: g.date(), Document: "doc"}
	case 9:
		return domain.ReverseSubsidy{PaymentID: g.id("PAY", g.payments+2), Amount: g.amount(), Date: g.date(), Reason: "错发"}
	default:
		return g.loanOrWork()
	}
}

func (g *generator) subsidyAmount() decimal.Decimal {
	switch g.r.IntN(3) {
	case 0:
		return decimal.NewFromInt(5000)
	case 1:
		return decimal.New(g.r.Int64N(100_000), -2)
	}
	return g.amount()
}

// likely returns want most of the time and a random pick otherwise, so that
// commands are mostly valid but every refusal still occurs.
func (g *generator) likely(want string, pool []string) string {
	if g.r.IntN(4) == 0 {
		return g.pick(pool)
	}
	return want
}

func (g *generator) loanOrWork() domain.Command {
	loanID := g.id("L", 6)
	switch g.r.IntN(14) {
	case 0, 1:
		return g.issueLoan(loanID)
	case 2, 3:
		return domain.RepayLoan{LoanID: loanID, Principal: g.amount().Mul(decimal.NewFromInt(5)), Interest: g.amount(), Date: g.date()}
	case 4:
		return domain.PayInterestSubsidy{LoanID: loanID, Amount: g.amount(), FundID: g.likely("ES", poolFunds), PeriodEnd: g.date()}
	case 5:
		return domain.DeclareDefault{LoanID: loanID, Date: g.date()}
	case 6:
		return domain.CompensateLoan{LoanID: loanID, Amount: g.owedOrRandom(loanID, func(s domain.LoanState) decimal.Decimal { return s.OwedToBank }), Date: g.date()}
	case 7:
		return domain.RecoverLoan{LoanID: loanID, Amount: g.amount().Mul(decimal.NewFromInt(3)), Date: g.date()}
	case 8:
		return domain.WriteOffLoan{LoanID: loanID, Amount: g.owedOrRandom(loanID, func(s domain.LoanState) decimal.Decimal { return s.OwedToGuaranteeFund }),
			FundID: g.likely("R", poolFunds), Date: g.date(), Document: "核销批复"}
	case 9:
		return domain.CloseLoan{LoanID: loanID, Date: g.date()}
	default:
		return g.work()
	}
}

// owedOrRandom: half the time exactly what is owed (so that write-offs and
// full compensations happen), otherwise a random amount.
func (g *generator) owedOrRandom(loanID string, owed func(domain.LoanState) decimal.Decimal) decimal.Decimal {
	if s, ok := g.ledger.Loan(loanID); ok && g.r.IntN(2) == 0 {
		return owed(s)
	}
	return g.amount().Mul(decimal.NewFromInt(5))
}

func (g *generator) issueLoan(loanID string) domain.IssueLoan {
	kind := domain.BorrowerKinds[g.r.IntN(3)]
	borrower := g.likely(g.pick([]string{"P1", "P2", "P3", "Q0"}), poolBeneficiaries)
	if kind == domain.SmallFirm {
		borrower = g.likely("E1", poolBeneficiaries)
	}
	c := domain.IssueLoan{LoanID: loanID, BorrowerID: borrower, BorrowerKind: kind, Bank: "安康农商银行",
		Principal: decimal.NewFromInt(int64(10_000 * (1 + g.r.IntN(30)))), AnnualRate: decimal.RequireFromString("0.0435"),
		TermMonths: 12 * (1 + g.r.IntN(3)), IssueDate: g.date(), GuaranteeFundID: g.likely("G", poolFunds), RegionCode: g.likely("610902", poolRegions),
		CounterGuaranteeWaived: g.r.IntN(3) == 0, JobsCreated: g.r.IntN(5)}
	if kind == domain.Partnership {
		c.Partners = []string{"P1", g.pick(poolBeneficiaries)}
	}
	return c
}

func (g *generator) work() domain.Command {
	switch g.r.IntN(7) {
	case 0, 1:
		return domain.RecordPlacement{PlacementID: g.id("J", 8), BeneficiaryID: g.pick(poolBeneficiaries),
			Kind: domain.PlacementKinds[g.r.IntN(5)], RegionCode: g.pick(poolRegions), Date: g.date()}
	case 2:
		return domain.EndPlacement{PlacementID: g.id("J", 8), Date: g.date(), Reason: "离职"}
	case 3:
		return domain.ReversePlacement{PlacementID: g.id("J", 8), Date: g.date(), Reason: "误录"}
	case 4:
		return domain.RecordTraining{TrainingID: g.id("T", 8), BeneficiaryID: g.pick(poolBeneficiaries), CourseKind: domain.CourseKinds[g.r.IntN(2)],
			RegionCode: g.pick(poolRegions), Date: g.date()}
	case 5:
		return domain.SetTarget{RegionCode: g.pick(poolRegions), Year: 2017 + g.r.IntN(3), Indicator: domain.Indicators[g.r.IntN(len(domain.Indicators))],
			Issuer: domain.Issuers[g.r.IntN(3)], Value: g.amount(), Direction: domain.Floor, Date: g.date()}
	default:
		return domain.SetLoanPolicy{LoanPolicy: domain.LoanPolicy{EffectiveFrom: g.date(), IndividualMax: decimal.NewFromInt(int64(50_000 * (1 + g.r.IntN(6)))),
			PartnershipMax: decimal.NewFromInt(500_000), EnterpriseMax: decimal.NewFromInt(3_000_000)}}
	}
}

// checker keeps the account balances implied by the postings of every
// accepted event, and checks them against the ledger after each step.
type checker struct {
	t        *testing.T
	seed     uint64
	balances map[string]decimal.Decimal
}

func (c *checker) post(e domain.Event) {
	for _, p := range domain.Postings(e) {
		if !p.Amount.IsPositive() || p.From == p.To || !domain.IsMoney(p.Amount) {
			c.t.Fatalf("seed %d: %s has a bad posting %+v", c.seed, e.EventType(), p)
		}
		c.balances[p.From] = c.balances[p.From].Sub(p.Amount)
		c.balances[p.To] = c.balances[p.To].Add(p.Amount)
	}
}

// check asserts the invariants: the trial balance is zero, every fund's
// balance equals its account and is never negative, every loan's outstanding
// principal equals its account and principal − repaid − recovered − written off.
func (c *checker) check(l *domain.Ledger, step int) {
	total := decimal.Zero
	for _, b := range c.balances {
		total = total.Add(b)
	}
	if !total.IsZero() {
		c.t.Fatalf("seed %d step %d: trial balance is %s, want 0", c.seed, step, total)
	}
	for _, id := range poolFunds {
		if balance, ok := l.FundBalance(id); ok {
			if balance.IsNegative() || !balance.Equal(c.balances[domain.FundAccount(id)]) {
				c.t.Fatalf("seed %d step %d: fund %s balance %s, account %s", c.seed, step, id, balance, c.balances[domain.FundAccount(id)])
			}
		}
	}
	for i := range 6 {
		id := fmt.Sprintf("L%d", i)
		s, ok := l.Loan(id)
		if !ok {
			continue
		}
		want := s.Principal.Sub(s.Repaid).Sub(s.Recovered).Sub(s.WrittenOff)
		if !s.Outstanding.Equal(want) || !s.Outstanding.Equal(c.balances[domain.LoanAccount(id)]) || s.Outstanding.IsNegative() {
			c.t.Fatalf("seed %d step %d: loan %s outstanding %s, formula %s, account %s", c.seed, step, id, s.Outstanding, want, c.balances[domain.LoanAccount(id)])
		}
		if s.OwedToBank.IsNegative() || s.OwedToGuaranteeFund.IsNegative() {
			c.t.Fatalf("seed %d step %d: loan %s owes a negative amount: %+v", c.seed, step, id, s)
		}
	}
}

// TestPropertiesOfRandomSequences runs random command sequences and checks,
// after every step, the invariants of the ledger; that Decide changes nothing;
// that Mark/Rollback of a tentative batch restores the state exactly; and at
// the end that replaying the encoded events rebuilds the same state.
// Replay one sequence with: go test ./domain -run Properties -seed N
func TestPropertiesOfRandomSequences(t *testing.T) {
	for _, seed := range seeds(t) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { runSequence(t, seed) })
	}
}

func runSequence(t *testing.T, seed uint64) {
	l := given(t)
	g := &generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), day: domain.MustDate("2017-02-01"), ledger: l}
	c := &checker{t: t, seed: seed, balances: map[string]decimal.Decimal{}}
	history := lifeOfWorld(t, c)
	accepted := 0
	for step := range *stepsFlag {
		if g.r.IntN(10) == 0 {
			checkRollback(t, seed, step, l, g)
		}
		before := domain.Snapshot(l)
		events, err := l.Decide(g.command())
		if after := domain.Snapshot(l); after != before {
			t.Fatalf("seed %d step %d: Decide changed the state", seed, step)
		}
		if err != nil {
			continue
		}
		accepted++
		for _, e := range events {
			l.Evolve(e)
			c.post(e)
		}
		history = append(history, events...)
		c.check(l, step)
	}
	checkReplay(t, seed, l, history)
	t.Logf("seed %d: %d of %d accepted; events by type: %v", seed, accepted, *stepsFlag, countTypes(history))
	if accepted < *stepsFlag/10 {
		t.Errorf("seed %d: only %d of %d commands accepted; the generator no longer exercises the rules", seed, accepted, *stepsFlag)
	}
}

// lifeOfWorld returns the events of the world fixture, posted into the checker.
func lifeOfWorld(t *testing.T, c *checker) []domain.Event {
	l := domain.NewLedger()
	var history []domain.Event
	for _, cmd := range world() {
		events, err := l.Decide(cmd)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			l.Evolve(e)
			c.post(e)
		}
		history = append(history, events...)
	}
	return history
}

// checkRollback applies a tentative batch under Mark and rolls it back.
func checkRollback(t *testing.T, seed uint64, step int, l *domain.Ledger, g *generator) {
	before := domain.Snapshot(l)
	l.Mark()
	for range 1 + g.r.IntN(8) {
		events, err := l.Decide(g.command())
		if err != nil {
			continue
		}
		for _, e := range events {
			l.Evolve(e)
		}
	}
	l.Rollback()
	if after := domain.Snapshot(l); after != before {
		t.Fatalf("seed %d step %d: Rollback did not restore the state\nbefore:\n%s\nafter:\n%s", seed, step, before, after)
	}
}

// checkReplay rebuilds a ledger from the encoded events and compares states.
func checkReplay(t *testing.T, seed uint64, l *domain.Ledger, history []domain.Event) {
	replayed := domain.NewLedger()
	for _, e := range history {
		eventType, data, err := domain.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := domain.Decode(eventType, data)
		if err != nil {
			t.Fatalf("seed %d: decode %s: %v", seed, eventType, err)
		}
		replayed.Evolve(back)
	}
	if got, want := domain.Snapshot(replayed), domain.Snapshot(l); got != want {
		t.Fatalf("seed %d: replay differs\ngot:\n%s\nwant:\n%s", seed, got, want)
	}
}

func countTypes(events []domain.Event) map[string]int {
	counts := map[string]int{}
	for _, e := range events {
		counts[e.EventType()]++
	}
	return counts
}
