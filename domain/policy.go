package domain

import "github.com/shopspring/decimal"

// Maximum loan terms by borrower kind (财金〔2016〕85号: three years for
// individuals and partnerships, two for small enterprises).
const (
	maxTermMonthsIndividual = 36
	maxTermMonthsEnterprise = 24
)

// DefaultLoanPolicies returns the loan cap versions the ledger ships with,
// from the seeds and the national notices. The first is in force for every
// date before 2018-04-01.
func DefaultLoanPolicies() []LoanPolicy {
	return []LoanPolicy{
		{
			EffectiveFrom:  Date{year: minDateYear, month: 1, day: 1},
			IndividualMax:  decimal.NewFromInt(100_000),
			PartnershipMax: decimal.NewFromInt(500_000),
			EnterpriseMax:  decimal.NewFromInt(2_000_000),
			Document:       "财金〔2016〕85号",
		},
		{
			EffectiveFrom:  Date{year: 2018, month: 4, day: 1},
			IndividualMax:  decimal.NewFromInt(150_000),
			PartnershipMax: decimal.NewFromInt(500_000),
			EnterpriseMax:  decimal.NewFromInt(3_000_000),
			Document:       "财金〔2018〕22号",
		},
		{
			EffectiveFrom: Date{year: 2020, month: 5, day: 1},
			IndividualMax: decimal.NewFromInt(200_000),
			PartnerShare:  decimal.RequireFromString("1.1"),
			EnterpriseMax: decimal.NewFromInt(3_000_000),
			Document:      "财金〔2020〕21号",
		},
	}
}

// capFor returns the largest principal the policy allows a borrower kind
// with the given number of partners.
func (p LoanPolicy) capFor(kind BorrowerKind, partners int) decimal.Decimal {
	switch kind {
	case Individual:
		return p.IndividualMax
	case SmallFirm:
		return p.EnterpriseMax
	case Partnership:
		if p.PartnerShare.IsPositive() {
			return p.PartnerShare.Mul(p.IndividualMax).Mul(decimal.NewFromInt(int64(partners)))
		}
		return p.PartnershipMax
	default:
		panic("domain: unknown borrower kind " + string(kind))
	}
}

// maxTermMonths returns the longest term a borrower kind may have.
func maxTermMonths(kind BorrowerKind) int {
	if kind == SmallFirm {
		return maxTermMonthsEnterprise
	}
	return maxTermMonthsIndividual
}

// policyOn returns the policy version in force on d: the one with the latest
// EffectiveFrom not after d.
func (l *Ledger) policyOn(d Date) (LoanPolicy, bool) {
	var best LoanPolicy
	found := false
	for from, p := range l.policies.rows {
		if !from.After(d) && (!found || from.After(best.EffectiveFrom)) {
			best, found = p, true
		}
	}
	return best, found
}

// LoanPolicyOn returns the loan policy in force on d.
func (l *Ledger) LoanPolicyOn(d Date) (LoanPolicy, bool) { return l.policyOn(d) }
