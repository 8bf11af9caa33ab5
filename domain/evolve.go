package domain

import (
	"slices"

	"github.com/shopspring/decimal"
)

// Evolve applies a recorded event to the state. It never fails: an event that
// the rules could not have produced (a payment from an unknown fund, a loan
// repaid beyond what is owed) is a programmer error and panics.
func (l *Ledger) Evolve(e Event) {
	switch e := e.(type) {
	case RegionDefined:
		l.evolveRegion(e)
	case FundOpened:
		assert(!l.funds.has(e.FundID), "fund %s opened twice", e.FundID)
		l.funds.set(e.FundID, fund{kind: e.Kind, region: e.RegionCode})
	case FundAllocated:
		l.addToFund(e.FundID, e.Amount)
	case BeneficiaryRegistered:
		assert(!l.beneficiaries.has(e.BeneficiaryID), "beneficiary %s registered twice", e.BeneficiaryID)
		l.evolveRegistered(e)
	case CategoryCertified:
		l.evolveCertified(e)
	case ProgramDefined:
		assert(!l.programs.has(e.ProgramID), "program %s defined twice", e.ProgramID)
		l.programs.set(e.ProgramID, e)
	case SubsidyPaid:
		l.evolvePaid(e)
	case SubsidyReversed:
		l.evolveReversed(e)
	case LoanIssued:
		l.evolveIssued(e)
	case LoanRepaid, InterestSubsidyPaid, LoanDefaulted, LoanCompensated, LoanRecovered, LoanWrittenOff, LoanClosed:
		l.evolveLoan(e)
	case PlacementRecorded, PlacementEnded, PlacementReversed:
		l.evolvePlacement(e)
	case TrainingRecorded:
		added := l.trainings.add(idKeyOf(e.TrainingID), training{beneficiary: l.names.intern(e.BeneficiaryID), date: e.Date})
		assert(added, "training %s recorded twice", e.TrainingID)
	case TargetSet:
		l.targets.set(targetKey{e.RegionCode, e.Year, e.Indicator, e.Issuer}, e)
	case StatisticReported:
		l.statistics.set(statisticKey{e.RegionCode, e.Year, e.Indicator}, e)
	case LoanPolicySet:
		l.policies.set(e.EffectiveFrom, e.LoanPolicy)
	case CheckpointRecorded:
		l.evolveCheckpoint(e)
	case ApprovalRequested, ApprovalGranted, ApprovalRejected:
		l.evolveApproval(e)
	case ReadAudited:
		// A read changes nothing the rules look at.
	default:
		panic(unknownEvent(e))
	}
}

func (l *Ledger) evolveRegion(e RegionDefined) {
	assert(!l.regions.has(e.Code), "region %s defined twice", e.Code)
	assert(e.ParentCode == "" || l.regions.has(e.ParentCode), "region %s under unknown parent %s", e.Code, e.ParentCode)
	l.regions.set(e.Code, region{name: e.Name, parent: e.ParentCode, poorVillage: e.PoorVillage, creditVillage: e.CreditVillage})
}

// addToFund changes a fund's balance by delta, which must leave it non-negative.
func (l *Ledger) addToFund(id string, delta decimal.Decimal) {
	f, ok := l.funds.get(id)
	assert(ok, "unknown fund %s", id)
	f.balance = f.balance.Add(delta)
	assert(!f.balance.IsNegative(), "fund %s below zero: %s", id, f.balance)
	l.funds.set(id, f)
}

func (l *Ledger) evolveRegistered(e BeneficiaryRegistered) {
	assert(!l.beneficiaries.has(e.BeneficiaryID), "beneficiary %s registered twice", e.BeneficiaryID)
	b := beneficiary{kind: BeneficiaryKind(l.names.canon(string(e.Kind))), region: l.names.canon(e.RegionCode)}
	if e.Categories != nil {
		b.categories = make([]categoryPeriod, len(e.Categories))
		for i, p := range e.Categories {
			b.categories[i] = l.period(p.Category, p.From, p.To)
		}
	}
	// The row's key is the interned id, shared with every payment and placement naming it.
	l.beneficiaries.set(l.names.canon(e.BeneficiaryID), b)
}

func (l *Ledger) period(category Category, from, to Date) categoryPeriod {
	return categoryPeriod{category: Category(l.names.canon(string(category))), from: from, to: to}
}

func (l *Ledger) evolveCertified(e CategoryCertified) {
	b, ok := l.beneficiaries.get(e.BeneficiaryID)
	assert(ok, "unknown beneficiary %s", e.BeneficiaryID)
	// A fresh slice, because the journal may hold the old one.
	b.categories = append(slices.Clip(b.categories), l.period(e.Category, e.From, e.To))
	l.beneficiaries.set(e.BeneficiaryID, b)
}

func (l *Ledger) evolvePaid(e SubsidyPaid) {
	p := payment{program: l.names.intern(e.ProgramID), beneficiary: l.names.intern(e.BeneficiaryID),
		fund: l.names.intern(e.FundID), region: l.names.intern(e.RegionCode), date: e.Date, amount: toFen(e.Amount)}
	added := l.payments.add(idKeyOf(e.PaymentID), p)
	assert(added, "payment %s made twice", e.PaymentID)
	l.addToFund(e.FundID, e.Amount.Neg())
	key := usageKey{p.program, p.beneficiary}
	n, _ := l.usage.get(key)
	l.usage.set(key, n+1)
}

func (l *Ledger) evolveReversed(e SubsidyReversed) {
	k := idKeyOf(e.PaymentID)
	p, ok := l.payments.get(k)
	assert(ok, "reversal of unknown payment %s", e.PaymentID)
	p.reversed = addFen(p.reversed, toFen(e.Amount))
	assert(p.remaining() >= 0, "payment %s reversed beyond what was paid", e.PaymentID)
	l.payments.set(k, p)
	l.addToFund(e.FundID, e.Amount)
	if p.remaining() == 0 {
		// A fully reversed payment no longer counts against the limit.
		key := usageKey{p.program, p.beneficiary}
		n, _ := l.usage.get(key)
		assert(n > 0, "usage of %v below zero", key)
		l.usage.set(key, n-1)
	}
}

func (l *Ledger) evolveIssued(e LoanIssued) {
	assert(!l.loans.has(e.LoanID), "loan %s issued twice", e.LoanID)
	l.loans.set(e.LoanID, loan{borrower: l.names.intern(e.BorrowerID), bank: l.names.intern(e.Bank),
		region: l.names.intern(e.RegionCode), guaranteeFund: l.names.intern(e.GuaranteeFundID),
		issueDate: e.IssueDate, status: StatusActive, poorVillage: e.PoorVillage, principal: toFen(e.Principal)})
}

func (l *Ledger) evolveLoan(e Event) {
	id := loanIDOf(e)
	ln, ok := l.loans.get(id)
	assert(ok, "event %s for unknown loan %s", e.EventType(), id)
	switch e := e.(type) {
	case LoanRepaid:
		ln.repaid = addFen(ln.repaid, toFen(e.Principal))
	case InterestSubsidyPaid:
		l.addToFund(e.FundID, e.Amount.Neg())
	case LoanDefaulted:
		ln.status = StatusDefaulted
	case LoanCompensated:
		l.addToFund(e.GuaranteeFundID, e.Amount.Neg())
		ln.compensated = addFen(ln.compensated, toFen(e.Amount))
	case LoanRecovered:
		l.addToFund(e.GuaranteeFundID, e.Amount)
		ln.recovered = addFen(ln.recovered, toFen(e.Amount))
	case LoanWrittenOff:
		l.addToFund(e.FundID, e.Amount.Neg())
		l.addToFund(e.GuaranteeFundID, e.Amount)
		ln.writtenOff = addFen(ln.writtenOff, toFen(e.Amount))
		ln.status = StatusWrittenOff
	case LoanClosed:
		ln.status = StatusClosed
	}
	assert(ln.owedToBank() >= 0, "loan %s owes the bank less than nothing", id)
	assert(ln.owedToGuaranteeFund() >= 0, "loan %s owes the guarantee fund less than nothing", id)
	l.loans.set(id, ln)
}

// loanIDOf returns the loan a loan event is about.
func loanIDOf(e Event) string {
	switch e := e.(type) {
	case LoanRepaid:
		return e.LoanID
	case InterestSubsidyPaid:
		return e.LoanID
	case LoanDefaulted:
		return e.LoanID
	case LoanCompensated:
		return e.LoanID
	case LoanRecovered:
		return e.LoanID
	case LoanWrittenOff:
		return e.LoanID
	case LoanClosed:
		return e.LoanID
	default:
		panic(unknownEvent(e))
	}
}

func (l *Ledger) evolvePlacement(e Event) {
	switch e := e.(type) {
	case PlacementRecorded:
		added := l.placements.add(idKeyOf(e.PlacementID), placement{beneficiary: l.names.intern(e.BeneficiaryID),
			region: l.names.intern(e.RegionCode), indicators: l.indicatorSets.intern(e.Indicators), date: e.Date})
		assert(added, "placement %s recorded twice", e.PlacementID)
	case PlacementEnded:
		k := idKeyOf(e.PlacementID)
		p, ok := l.placements.get(k)
		assert(ok && !p.ended, "end of unknown or ended placement %s", e.PlacementID)
		p.ended = true
		l.placements.set(k, p)
	case PlacementReversed:
		k := idKeyOf(e.PlacementID)
		p, ok := l.placements.get(k)
		assert(ok && !p.reversed, "reversal of unknown or reversed placement %s", e.PlacementID)
		p.reversed = true
		l.placements.set(k, p)
	default:
		panic(unknownEvent(e))
	}
}

// owedToBank is principal - repaid - compensated.
func (ln loan) owedToBank() fen { return ln.principal - ln.repaid - ln.compensated }

// owedToGuaranteeFund is compensated - recovered - written off.
func (ln loan) owedToGuaranteeFund() fen { return ln.compensated - ln.recovered - ln.writtenOff }

// outstanding is principal - repaid - recovered - written off: what the
// borrower still owes, to the bank or to the guarantee fund.
func (ln loan) outstanding() fen { return ln.principal - ln.repaid - ln.recovered - ln.writtenOff }
