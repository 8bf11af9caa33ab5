package domain

import (
	"slices"

	"github.com/shopspring/decimal"
)

func (l *Ledger) decideIssueLoan(c IssueLoan) (LoanIssued, *Error) {
	e := LoanIssued{LoanID: c.LoanID, BorrowerID: c.BorrowerID, BorrowerKind: c.BorrowerKind,
		Partners: slices.Clone(c.Partners), Bank: c.Bank, Principal: c.Principal, AnnualRate: c.AnnualRate,
		TermMonths: c.TermMonths, IssueDate: c.IssueDate, GuaranteeFundID: c.GuaranteeFundID,
		RegionCode: c.RegionCode, CounterGuaranteeWaived: c.CounterGuaranteeWaived,
		JobsCreated: c.JobsCreated, Document: c.Document}
	if err := checkLoanShape(c); err != nil {
		return e, err
	}
	if l.loans.has(c.LoanID) {
		return e, fail(ErrDuplicateID, "loan_id", "loan %s", c.LoanID)
	}
	borrower, err := l.loanParties(c)
	if err != nil {
		return e, err
	}
	e.PoorVillage = l.regions.rows[c.RegionCode].poorVillage
	return e, first(borrowerMatches(c.BorrowerKind, borrower), checkTerm(c), l.checkCap(c), l.checkWaiver(c, borrower))
}

// checkLoanShape refuses a malformed loan command before any lookup.
func checkLoanShape(c IssueLoan) *Error {
	return first(checkID("loan_id", c.LoanID), checkID("borrower_id", c.BorrowerID),
		oneOf("borrower_kind", c.BorrowerKind, BorrowerKinds), checkPartners(c),
		text("bank", c.Bank, maxNameBytes), checkAmount("principal", c.Principal), checkRate(c.AnnualRate),
		checkTermShape(c.TermMonths), date("issue_date", c.IssueDate), checkID("guarantee_fund_id", c.GuaranteeFundID),
		checkJobs(c.JobsCreated), optionalText("document", c.Document, maxDocumentBytes))
}

// checkPartners requires at least two distinct partners for a partnership, none otherwise.
func checkPartners(c IssueLoan) *Error {
	if c.BorrowerKind != Partnership {
		if len(c.Partners) > 0 {
			return fail(ErrPartners, "partners", "only partnership loans have partners")
		}
		return nil
	}
	if len(c.Partners) > maxPartners {
		return fail(ErrTooLong, "partners", "at most %d", maxPartners)
	}
	seen := make(map[string]bool, len(c.Partners))
	for _, p := range c.Partners {
		if err := checkID("partners", p); err != nil {
			return err
		}
		seen[p] = true
	}
	if len(seen) < 2 || len(seen) != len(c.Partners) {
		return fail(ErrPartners, "partners", "%d partners given", len(c.Partners))
	}
	return nil
}

func checkRate(rate decimal.Decimal) *Error {
	if rate.IsNegative() || rate.GreaterThan(maxAnnualRate) {
		return fail(ErrRateRange, "annual_rate", "%s is not a fraction between 0 and %s", rate, maxAnnualRate)
	}
	return nil
}

func checkTermShape(months int) *Error {
	if months <= 0 {
		return fail(ErrRequired, "term_months", "must be at least 1")
	}
	return nil
}

func checkJobs(n int) *Error {
	if n < 0 {
		return fail(ErrNegative, "jobs_created", "%d", n)
	}
	if n > maxJobsCreated {
		return fail(ErrTooLong, "jobs_created", "at most %d", maxJobsCreated)
	}
	return nil
}

// loanParties checks that borrower, partners, guarantee fund and region exist.
func (l *Ledger) loanParties(c IssueLoan) (beneficiary, *Error) {
	borrower, err := l.existingBeneficiary("borrower_id", c.BorrowerID)
	if err != nil {
		return borrower, err
	}
	for _, p := range c.Partners {
		if _, err := l.existingBeneficiary("partners", p); err != nil {
			return borrower, err
		}
	}
	guarantee, err := l.existingFund("guarantee_fund_id", c.GuaranteeFundID)
	if err != nil {
		return borrower, err
	}
	return borrower, first(fundKind("guarantee_fund_id", guarantee, FundGuarantee), l.existingRegion("region_code", c.RegionCode))
}

// borrowerMatches: an individual borrower is a person, an enterprise borrower an enterprise.
func borrowerMatches(kind BorrowerKind, b beneficiary) *Error {
	if kind == Individual && b.kind != Person || kind == SmallFirm && b.kind != Enterprise {
		return fail(ErrBorrowerKind, "borrower_kind", "%s loan to a %s", kind, b.kind)
	}
	return nil
}

func checkTerm(c IssueLoan) *Error {
	if limit := maxTermMonths(c.BorrowerKind); c.TermMonths > limit {
		return fail(ErrLoanTerm, "term_months", "%d months, at most %d for %s", c.TermMonths, limit, c.BorrowerKind)
	}
	return nil
}

// checkCap applies the policy in force on the issue date.
func (l *Ledger) checkCap(c IssueLoan) *Error {
	policy, ok := l.policyOn(c.IssueDate)
	if !ok {
		return fail(ErrPolicyUnavailable, "issue_date", "%s", c.IssueDate)
	}
	limit := policy.capFor(c.BorrowerKind, len(c.Partners))
	if c.Principal.GreaterThan(limit) {
		return fail(ErrLoanCap, "principal", "%s exceeds %s for %s under the policy of %s (%s)",
			c.Principal, limit, c.BorrowerKind, policy.EffectiveFrom, policy.Document)
	}
	return nil
}

// checkWaiver: no counter-guarantee only in a credit village (the region or
// one above it) or for a borrower certified as poverty labour on the issue date.
func (l *Ledger) checkWaiver(c IssueLoan, borrower beneficiary) *Error {
	if !c.CounterGuaranteeWaived || l.inCreditVillage(c.RegionCode) || borrower.holds(PovertyLabour, c.IssueDate) {
		return nil
	}
	return fail(ErrCounterGuaranteeWaiver, "counter_guarantee_waived", "region %s", c.RegionCode)
}

func (l *Ledger) inCreditVillage(code string) bool {
	for code != "" {
		r, ok := l.regions.get(code)
		if !ok {
			return false
		}
		if r.creditVillage {
			return true
		}
		code = r.parent
	}
	return false
}

// openLoan returns a loan that may still change: known, not closed, not written off.
func (l *Ledger) openLoan(id string) (loan, *Error) {
	if err := checkID("loan_id", id); err != nil {
		return loan{}, err
	}
	ln, ok := l.loans.get(id)
	if !ok {
		return ln, fail(ErrLoanNotFound, "loan_id", "%s", id)
	}
	if ln.status == StatusClosed || ln.status == StatusWrittenOff {
		return ln, fail(ErrLoanClosed, "loan_id", "loan %s is %s", id, ln.status)
	}
	return ln, nil
}

// notMore refuses an amount above what is owed.
func notMore(field string, amount decimal.Decimal, owed fen, whom string) *Error {
	if owedAmount := owed.decimal(); amount.GreaterThan(owedAmount) {
		return fail(ErrExceedsOwed, field, "%s, but %s is owed to the %s", amount, owedAmount, whom)
	}
	return nil
}

func (l *Ledger) decideRepayLoan(c RepayLoan) (LoanRepaid, *Error) {
	e := LoanRepaid{LoanID: c.LoanID, Principal: c.Principal, Interest: c.Interest, Date: c.Date}
	ln, err := l.openLoan(c.LoanID)
	if err != nil {
		return e, err
	}
	e.Bank = l.names.name(ln.bank)
	err = first(checkAmountOrZero("principal", c.Principal), checkAmountOrZero("interest", c.Interest), date("date", c.Date))
	if err != nil {
		return e, err
	}
	if !c.Principal.IsPositive() && !c.Interest.IsPositive() {
		return e, fail(ErrAmountNotPositive, "principal", "principal and interest are both zero")
	}
	return e, first(notBefore("date", c.Date, ln.issueDate), notMore("principal", c.Principal, ln.owedToBank(), "bank"))
}

func (l *Ledger) decidePayInterestSubsidy(c PayInterestSubsidy) (InterestSubsidyPaid, *Error) {
	e := InterestSubsidyPaid{LoanID: c.LoanID, FundID: c.FundID, Amount: c.Amount, PeriodEnd: c.PeriodEnd, Document: c.Document}
	ln, err := l.openLoan(c.LoanID)
	if err != nil {
		return e, err
	}
	e.RegionCode = l.names.name(ln.region)
	err = first(checkAmount("amount", c.Amount), date("period_end", c.PeriodEnd), optionalText("document", c.Document, maxDocumentBytes))
	if err != nil {
		return e, err
	}
	f, err := l.existingFund("fund_id", c.FundID)
	if err != nil {
		return e, err
	}
	if ln.status == StatusDefaulted {
		return e, fail(ErrLoanInDefault, "loan_id", "loan %s", c.LoanID)
	}
	return e, first(fundKind("fund_id", f, FundEmploymentSubsidy), notBefore("period_end", c.PeriodEnd, ln.issueDate),
		covers("amount", f, c.Amount))
}

func (l *Ledger) decideDeclareDefault(c DeclareDefault) (LoanDefaulted, *Error) {
	e := LoanDefaulted(c)
	ln, err := l.openLoan(c.LoanID)
	if err != nil {
		return e, err
	}
	if err := first(date("date", c.Date), optionalText("reason", c.Reason, maxReasonBytes)); err != nil {
		return e, err
	}
	if ln.status == StatusDefaulted {
		return e, fail(ErrAlreadyDefaulted, "loan_id", "loan %s", c.LoanID)
	}
	if ln.owedToBank() <= 0 {
		return e, fail(ErrNothingOwed, "loan_id", "loan %s owes the bank nothing", c.LoanID)
	}
	return e, notBefore("date", c.Date, ln.issueDate)
}

func (l *Ledger) decideCompensateLoan(c CompensateLoan) (LoanCompensated, *Error) {
	e := LoanCompensated{LoanID: c.LoanID, Amount: c.Amount, Date: c.Date, Document: c.Document}
	ln, err := l.openLoan(c.LoanID)
	if err != nil {
		return e, err
	}
	e.GuaranteeFundID, e.Bank = l.names.name(ln.guaranteeFund), l.names.name(ln.bank)
	err = first(checkAmount("amount", c.Amount), date("date", c.Date), optionalText("document", c.Document, maxDocumentBytes))
	if err != nil {
		return e, err
	}
	if ln.status != StatusDefaulted {
		return e, fail(ErrLoanNotInDefault, "loan_id", "loan %s is %s", c.LoanID, ln.status)
	}
	guarantee := l.funds.rows[e.GuaranteeFundID]
	return e, first(notBefore("date", c.Date, ln.issueDate), notMore("amount", c.Amount, ln.owedToBank(), "bank"),
		covers("amount", guarantee, c.Amount))
}

func (l *Ledger) decideRecoverLoan(c RecoverLoan) (LoanRecovered, *Error) {
	e := LoanRecovered{LoanID: c.LoanID, Amount: c.Amount, Date: c.Date}
	ln, err := l.openLoan(c.LoanID)
	if err != nil {
		return e, err
	}
	e.GuaranteeFundID = l.names.name(ln.guaranteeFund)
	if err := first(checkAmount("amount", c.Amount), date("date", c.Date)); err != nil {
		return e, err
	}
	return e, first(notBefore("date", c.Date, ln.issueDate),
		notMore("amount", c.Amount, ln.owedToGuaranteeFund(), "guarantee fund"))
}

func (l *Ledger) decideWriteOffLoan(c WriteOffLoan) (LoanWrittenOff, *Error) {
	e := LoanWrittenOff{LoanID: c.LoanID, FundID: c.FundID, Amount: c.Amount, Date: c.Date, Document: c.Document}
	ln, err := l.openLoan(c.LoanID)
	if err != nil {
		return e, err
	}
	e.GuaranteeFundID = l.names.name(ln.guaranteeFund)
	err = first(checkAmount("amount", c.Amount), date("date", c.Date), text("document", c.Document, maxDocumentBytes))
	if err != nil {
		return e, err
	}
	reserve, err := l.existingFund("fund_id", c.FundID)
	if err != nil {
		return e, err
	}
	err = first(fundKind("fund_id", reserve, FundBadDebtReserve), notBefore("date", c.Date, ln.issueDate),
		notMore("amount", c.Amount, ln.owedToGuaranteeFund(), "guarantee fund"))
	if err != nil {
		return e, err
	}
	if outstanding := ln.outstanding().decimal(); !c.Amount.Equal(outstanding) {
		return e, fail(ErrWriteOffNotAll, "amount", "%s, but %s is outstanding (%s to the bank)", c.Amount, outstanding, ln.owedToBank().decimal())
	}
	return e, covers("amount", reserve, c.Amount)
}

func (l *Ledger) decideCloseLoan(c CloseLoan) (LoanClosed, *Error) {
	e := LoanClosed(c)
	if err := checkID("loan_id", c.LoanID); err != nil {
		return e, err
	}
	ln, ok := l.loans.get(c.LoanID)
	if !ok {
		return e, fail(ErrLoanNotFound, "loan_id", "%s", c.LoanID)
	}
	if ln.status == StatusClosed {
		return e, fail(ErrLoanClosed, "loan_id", "loan %s is closed", c.LoanID)
	}
	if err := date("date", c.Date); err != nil {
		return e, err
	}
	if ln.outstanding() > 0 {
		return e, fail(ErrLoanOutstanding, "loan_id", "%s outstanding", ln.outstanding().decimal())
	}
	return e, notBefore("date", c.Date, ln.issueDate)
}
