package domain

import "github.com/shopspring/decimal"

// FundBalance returns a fund's balance, and whether the fund exists.
func (l *Ledger) FundBalance(id string) (decimal.Decimal, bool) {
	f, ok := l.funds.get(id)
	return f.balance, ok
}

// HasBeneficiary reports whether a beneficiary id is registered (the API
// answers a repeated registration with the existing id).
func (l *Ledger) HasBeneficiary(id string) bool { return l.beneficiaries.has(id) }

// HasRegion reports whether a region code is defined.
func (l *Ledger) HasRegion(code string) bool { return l.regions.has(code) }

// LoanState is a read-only summary of a loan in the write-side state.
type LoanState struct {
	Status      LoanStatus
	Principal   decimal.Decimal
	Repaid      decimal.Decimal
	Compensated decimal.Decimal
	Recovered   decimal.Decimal
	WrittenOff  decimal.Decimal
	// Outstanding is principal − repaid − recovered − written off.
	Outstanding decimal.Decimal
	// OwedToBank is principal − repaid − compensated.
	OwedToBank decimal.Decimal
	// OwedToGuaranteeFund is compensated − recovered − written off.
	OwedToGuaranteeFund decimal.Decimal
}

// Loan returns a loan's state, and whether the loan exists.
func (l *Ledger) Loan(id string) (LoanState, bool) {
	ln, ok := l.loans.get(id)
	if !ok {
		return LoanState{}, false
	}
	return LoanState{
		Status: ln.status, Principal: ln.principal.decimal(), Repaid: ln.repaid.decimal(),
		Compensated: ln.compensated.decimal(), Recovered: ln.recovered.decimal(), WrittenOff: ln.writtenOff.decimal(),
		Outstanding: ln.outstanding().decimal(), OwedToBank: ln.owedToBank().decimal(),
		OwedToGuaranteeFund: ln.owedToGuaranteeFund().decimal(),
	}, true
}

// PaymentRemaining returns what is left of a payment after its reversals,
// and whether the payment exists.
func (l *Ledger) PaymentRemaining(id string) (decimal.Decimal, bool) {
	p, ok := l.payments.get(idKeyOf(id))
	if !ok {
		return decimal.Zero, false
	}
	return p.remaining().decimal(), true
}
