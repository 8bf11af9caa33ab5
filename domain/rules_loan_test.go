package domain_test

import (
	"slices"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

const bank = "安康农商银行"

// issue returns the standard loan L1 (P1, individual, 100000 on 2017-03-01), changed by mutate.
func issue(mutate func(*domain.IssueLoan)) domain.IssueLoan {
	c := domain.IssueLoan{LoanID: "L1", BorrowerID: "P1", BorrowerKind: domain.Individual, Bank: bank,
		Principal: yuan("100000"), AnnualRate: yuan("0.0435"), TermMonths: 36, IssueDate: d("2017-03-01"),
		GuaranteeFundID: "G", RegionCode: "610902", JobsCreated: 2}
	if mutate != nil {
		mutate(&c)
	}
	return c
}

func loanOf(kind domain.BorrowerKind, borrower, principal, date string, partners ...string) domain.IssueLoan {
	return issue(func(c *domain.IssueLoan) {
		c.BorrowerKind, c.BorrowerID, c.Principal, c.IssueDate, c.Partners = kind, borrower, yuan(principal), d(date), partners
		if kind == domain.SmallFirm {
			c.TermMonths = 24
		}
	})
}

func TestLoanIssueRules(t *testing.T) {
	newPolicy := domain.SetLoanPolicy{LoanPolicy: domain.LoanPolicy{EffectiveFrom: d("2021-01-01"), IndividualMax: yuan("300000"),
		PartnerShare: yuan("1.1"), EnterpriseMax: yuan("3000000"), Document: "陕财办〔2020〕99号"}}
	runCases(t, []ruleCase{
		{name: "a loan within the cap is issued with the region's poor-village flag", when: issue(nil),
			want: []domain.Event{domain.LoanIssued{LoanID: "L1", BorrowerID: "P1", BorrowerKind: domain.Individual, Bank: bank,
				Principal: yuan("100000"), AnnualRate: yuan("0.0435"), TermMonths: 36, IssueDate: d("2017-03-01"),
				GuaranteeFundID: "G", RegionCode: "610902", JobsCreated: 2}}},
		{name: "a loan in a poor village says so", when: issue(func(c *domain.IssueLoan) { c.RegionCode = "610902001001" }),
			want: []domain.Event{domain.LoanIssued{LoanID: "L1", BorrowerID: "P1", BorrowerKind: domain.Individual, Bank: bank,
				Principal: yuan("100000"), AnnualRate: yuan("0.0435"), TermMonths: 36, IssueDate: d("2017-03-01"),
				GuaranteeFundID: "G", RegionCode: "610902001001", PoorVillage: true, JobsCreated: 2}}},
		{name: "an individual above 100,000 before April 2018 is refused", when: loanOf(domain.Individual, "P1", "100000.01", "2018-03-31"), rule: domain.ErrLoanCap, field: "principal"},
		{name: "an individual 150,000 on 2018-03-31 is refused", when: loanOf(domain.Individual, "P1", "150000", "2018-03-31"), rule: domain.ErrLoanCap, field: "principal"},
		{name: "an individual 150,000 from 2018-04-01 is issued", when: loanOf(domain.Individual, "P1", "150000", "2018-04-01")},
		{name: "an individual above 150,000 in 2019 is refused", when: loanOf(domain.Individual, "P1", "150000.01", "2019-04-01"), rule: domain.ErrLoanCap, field: "principal"},
		{name: "an individual 200,000 from 2020-05-01 is issued", when: loanOf(domain.Individual, "P1", "200000", "2020-05-01")},
		{name: "an individual above 200,000 in 2020 is refused", when: loanOf(domain.Individual, "P1", "200000.01", "2020-05-01"), rule: domain.ErrLoanCap, field: "principal"},
		{name: "a partnership of 500,000 in 2017 is issued", when: loanOf(domain.Partnership, "P1", "500000", "2017-03-01", "P1", "P2")},
		{name: "a partnership above 500,000 in 2017 is refused", when: loanOf(domain.Partnership, "P1", "500000.01", "2017-03-01", "P1", "P2"), rule: domain.ErrLoanCap, field: "principal"},
		{name: "a partnership of two gets 110% of 2 x 200,000 from May 2020", when: loanOf(domain.Partnership, "P1", "440000", "2020-06-01", "P1", "P2")},
		{name: "a partnership of two above 440,000 from May 2020 is refused", when: loanOf(domain.Partnership, "P1", "440000.01", "2020-06-01", "P1", "P2"), rule: domain.ErrLoanCap, field: "principal"},
		{name: "a partnership of three gets 660,000 from May 2020", when: loanOf(domain.Partnership, "P1", "660000", "2020-06-01", "P1", "P2", "P3")},
		{name: "an enterprise of 2,000,000 in 2017 is issued", when: loanOf(domain.SmallFirm, "E1", "2000000", "2017-03-01")},
		{name: "an enterprise above 2,000,000 in 2017 is refused", when: loanOf(domain.SmallFirm, "E1", "2000000.01", "2017-03-01"), rule: domain.ErrLoanCap, field: "principal"},
		{name: "an enterprise of 3,000,000 from April 2018 is issued", when: loanOf(domain.SmallFirm, "E1", "3000000", "2018-04-01")},
		{name: "a recorded policy version judges loans from its date", given: []domain.Command{newPolicy}, when: loanOf(domain.Individual, "P1", "300000", "2021-02-01")},
		{name: "a recorded policy version does not judge loans before its date", given: []domain.Command{newPolicy},
			when: loanOf(domain.Individual, "P1", "300000", "2020-12-31"), rule: domain.ErrLoanCap, field: "principal"},
		{name: "an individual term of 37 months is refused", when: issue(func(c *domain.IssueLoan) { c.TermMonths = 37 }), rule: domain.ErrLoanTerm, field: "term_months"},
		{name: "an enterprise term of 25 months is refused", when: issue(func(c *domain.IssueLoan) {
			c.BorrowerKind, c.BorrowerID, c.TermMonths = domain.SmallFirm, "E1", 25
		}), rule: domain.ErrLoanTerm, field: "term_months"},
		{name: "a term of zero months is invalid", when: issue(func(c *domain.IssueLoan) { c.TermMonths = 0 }), rule: domain.ErrRequired, field: "term_months"},
		{name: "an individual loan to an enterprise is refused", when: issue(func(c *domain.IssueLoan) { c.BorrowerID = "E1" }), rule: domain.ErrBorrowerKind, field: "borrower_kind"},
		{name: "an enterprise loan to a person is refused", when: loanOf(domain.SmallFirm, "P1", "1000", "2017-03-01"), rule: domain.ErrBorrowerKind, field: "borrower_kind"},
		{name: "a partnership with one partner is invalid", when: loanOf(domain.Partnership, "P1", "1000", "2017-03-01", "P1"), rule: domain.ErrPartners, field: "partners"},
		{name: "a partnership naming a partner twice is invalid", when: loanOf(domain.Partnership, "P1", "1000", "2017-03-01", "P1", "P1"), rule: domain.ErrPartners, field: "partners"},
		{name: "an individual loan with partners is invalid", when: loanOf(domain.Individual, "P1", "1000", "2017-03-01", "P1", "P2"), rule: domain.ErrPartners, field: "partners"},
		{name: "an unknown partner is not found", when: loanOf(domain.Partnership, "P1", "1000", "2017-03-01", "P1", "P9"), rule: domain.ErrBeneficiaryNotFound, field: "partners"},
		{name: "an unknown borrower is not found", when: issue(func(c *domain.IssueLoan) { c.BorrowerID = "P9" }), rule: domain.ErrBeneficiaryNotFound, field: "borrower_id"},
		{name: "a guarantee by an employment subsidy fund is refused", when: issue(func(c *domain.IssueLoan) { c.GuaranteeFundID = "ES" }), rule: domain.ErrFundKind, field: "guarantee_fund_id"},
		{name: "a guarantee by an unknown fund is not found", when: issue(func(c *domain.IssueLoan) { c.GuaranteeFundID = "G9" }), rule: domain.ErrFundNotFound, field: "guarantee_fund_id"},
		{name: "a loan in an unknown region is not found", when: issue(func(c *domain.IssueLoan) { c.RegionCode = "610999" }), rule: domain.ErrRegionNotFound, field: "region_code"},
		{name: "a waived counter-guarantee for a poverty borrower is accepted", when: issue(func(c *domain.IssueLoan) { c.CounterGuaranteeWaived = true })},
		{name: "a waived counter-guarantee after the poverty certification ended is refused", when: issue(func(c *domain.IssueLoan) {
			c.CounterGuaranteeWaived, c.IssueDate, c.Principal = true, d("2021-01-01"), yuan("1000")
		}), rule: domain.ErrCounterGuaranteeWaiver, field: "counter_guarantee_waived"},
		{name: "a waived counter-guarantee outside a credit village is refused", when: issue(func(c *domain.IssueLoan) {
			c.BorrowerID, c.CounterGuaranteeWaived = "P2", true
		}), rule: domain.ErrCounterGuaranteeWaiver, field: "counter_guarantee_waived"},
		{name: "a waived counter-guarantee in a village of a credit town is accepted", when: issue(func(c *domain.IssueLoan) {
			c.BorrowerID, c.CounterGuaranteeWaived, c.RegionCode = "P2", true, "610922101201"
		})},
		{name: "a loan id used twice conflicts", given: []domain.Command{issue(nil)}, when: issue(nil), rule: domain.ErrDuplicateID, field: "loan_id"},
		{name: "a rate given in percent is out of range", when: issue(func(c *domain.IssueLoan) { c.AnnualRate = yuan("4.35") }), rule: domain.ErrRateRange, field: "annual_rate"},
		{name: "negative jobs created are invalid", when: issue(func(c *domain.IssueLoan) { c.JobsCreated = -1 }), rule: domain.ErrNegative, field: "jobs_created"},
		{name: "a loan without a bank is invalid", when: issue(func(c *domain.IssueLoan) { c.Bank = "" }), rule: domain.ErrRequired, field: "bank"},
		{name: "an unknown borrower kind is invalid", when: issue(func(c *domain.IssueLoan) { c.BorrowerKind = "cooperative" }), rule: domain.ErrUnknownValue, field: "borrower_kind"},
	})
}

// The life of loan L1 (100,000 to P1, guaranteed by G), step by step.
var (
	repaid20k   = domain.RepayLoan{LoanID: "L1", Principal: yuan("20000"), Interest: yuan("4350"), Date: d("2018-03-01")}
	defaulted   = domain.DeclareDefault{LoanID: "L1", Date: d("2019-06-30"), Reason: "逾期90天"}
	compensated = domain.CompensateLoan{LoanID: "L1", Amount: yuan("80000"), Date: d("2019-07-15")}
	recovered   = domain.RecoverLoan{LoanID: "L1", Amount: yuan("30000"), Date: d("2019-12-01")}
	writtenOff  = domain.WriteOffLoan{LoanID: "L1", Amount: yuan("50000"), FundID: "R", Date: d("2020-06-30"), Document: "安政函〔2020〕88号"}
)

func lifeUntil(steps ...domain.Command) []domain.Command {
	// Clipped, so that appending to the result never shares a backing array.
	return slices.Clip(append([]domain.Command{issue(nil)}, steps...))
}

func TestLoanRepaymentAndSubsidyRules(t *testing.T) {
	subsidy := func(fundID, amount, date string) domain.PayInterestSubsidy {
		return domain.PayInterestSubsidy{LoanID: "L1", Amount: yuan(amount), FundID: fundID, PeriodEnd: d(date)}
	}
	runCases(t, []ruleCase{
		{name: "a repayment names the bank it pays", given: lifeUntil(), when: repaid20k,
			want: []domain.Event{domain.LoanRepaid{LoanID: "L1", Bank: bank, Principal: yuan("20000"), Interest: yuan("4350"), Date: d("2018-03-01")}}},
		{name: "a repayment of the whole principal is accepted", given: lifeUntil(), when: domain.RepayLoan{LoanID: "L1", Principal: yuan("100000"), Date: d("2020-03-01")}},
		{name: "a repayment beyond the principal is refused", given: lifeUntil(repaid20k),
			when: domain.RepayLoan{LoanID: "L1", Principal: yuan("80000.01"), Date: d("2020-03-01")}, rule: domain.ErrExceedsOwed, field: "principal"},
		{name: "a repayment to the bank after full compensation is refused", given: lifeUntil(repaid20k, defaulted, compensated),
			when: domain.RepayLoan{LoanID: "L1", Principal: yuan("1"), Date: d("2020-03-01")}, rule: domain.ErrExceedsOwed, field: "principal"},
		{name: "a repayment of nothing is refused", given: lifeUntil(), when: domain.RepayLoan{LoanID: "L1", Date: d("2018-03-01")}, rule: domain.ErrAmountNotPositive, field: "principal"},
		{name: "interest alone may be paid", given: lifeUntil(), when: domain.RepayLoan{LoanID: "L1", Interest: yuan("362.50"), Date: d("2017-04-01")}},
		{name: "a repayment before the issue date is refused", given: lifeUntil(), when: domain.RepayLoan{LoanID: "L1", Principal: yuan("1"), Date: d("2017-02-28")},
			rule: domain.ErrDateBeforeOriginal, field: "date"},
		{name: "a repayment of an unknown loan is not found", when: repaid20k, rule: domain.ErrLoanNotFound, field: "loan_id"},
		{name: "an interest subsidy is paid from the employment subsidy fund", given: lifeUntil(), when: subsidy("ES", "2175", "2017-12-31"),
			want: []domain.Event{domain.InterestSubsidyPaid{LoanID: "L1", FundID: "ES", RegionCode: "610902", Amount: yuan("2175"), PeriodEnd: d("2017-12-31")}}},
		{name: "no interest subsidy while the loan is in default", given: lifeUntil(defaulted), when: subsidy("ES", "2175", "2019-12-31"), rule: domain.ErrLoanInDefault, field: "loan_id"},
		{name: "an interest subsidy from the guarantee fund is refused", given: lifeUntil(), when: subsidy("G", "2175", "2017-12-31"), rule: domain.ErrFundKind, field: "fund_id"},
		{name: "an interest subsidy beyond the fund's balance is refused", given: lifeUntil(), when: subsidy("EMPTY", "1", "2017-12-31"), rule: domain.ErrFundOverdrawn, field: "amount"},
		{name: "no interest subsidy on a closed loan", given: lifeUntil(domain.RepayLoan{LoanID: "L1", Principal: yuan("100000"), Date: d("2018-03-01")}, domain.CloseLoan{LoanID: "L1", Date: d("2018-03-02")}),
			when: subsidy("ES", "1", "2018-03-31"), rule: domain.ErrLoanClosed, field: "loan_id"},
	})
}

func TestLoanDefaultAndRecoveryRules(t *testing.T) {
	runCases(t, []ruleCase{
		{name: "a loan defaults", given: lifeUntil(repaid20k), when: defaulted},
		{name: "a loan defaults only once", given: lifeUntil(defaulted), when: defaulted, rule: domain.ErrAlreadyDefaulted, field: "loan_id"},
		{name: "a loan that owes the bank nothing cannot default", given: lifeUntil(domain.RepayLoan{LoanID: "L1", Principal: yuan("100000"), Date: d("2018-03-01")}),
			when: defaulted, rule: domain.ErrNothingOwed, field: "loan_id"},
		{name: "the guarantee fund compensates the bank", given: lifeUntil(repaid20k, defaulted), when: compensated,
			want: []domain.Event{domain.LoanCompensated{LoanID: "L1", GuaranteeFundID: "G", Bank: bank, Amount: yuan("80000"), Date: d("2019-07-15")}}},
		{name: "no compensation unless in default", given: lifeUntil(repaid20k), when: compensated, rule: domain.ErrLoanNotInDefault, field: "loan_id"},
		{name: "no compensation beyond what is owed to the bank", given: lifeUntil(repaid20k, defaulted),
			when: domain.CompensateLoan{LoanID: "L1", Amount: yuan("80000.01"), Date: d("2019-07-15")}, rule: domain.ErrExceedsOwed, field: "amount"},
		{name: "no compensation beyond the guarantee fund's balance", given: []domain.Command{
			domain.OpenFund{FundID: "G2", Name: "小基金", Kind: domain.FundGuarantee, RegionCode: "610900", Date: d("2017-01-01")},
			domain.AllocateFund{FundID: "G2", Amount: yuan("1000"), Date: d("2017-01-01"), Document: "doc"},
			issue(func(c *domain.IssueLoan) { c.GuaranteeFundID = "G2" }), defaulted},
			when: compensated, rule: domain.ErrFundOverdrawn, field: "amount"},
		{name: "a recovery goes to the guarantee fund", given: lifeUntil(repaid20k, defaulted, compensated), when: recovered,
			want: []domain.Event{domain.LoanRecovered{LoanID: "L1", GuaranteeFundID: "G", Amount: yuan("30000"), Date: d("2019-12-01")}}},
		{name: "no recovery before compensation", given: lifeUntil(repaid20k, defaulted), when: recovered, rule: domain.ErrExceedsOwed, field: "amount"},
		{name: "no recovery beyond what is owed to the guarantee fund", given: lifeUntil(repaid20k, defaulted, compensated, recovered),
			when: domain.RecoverLoan{LoanID: "L1", Amount: yuan("50000.01"), Date: d("2020-01-01")}, rule: domain.ErrExceedsOwed, field: "amount"},
	})
}

func TestLoanWriteOffAndCloseRules(t *testing.T) {
	afterRecovery := lifeUntil(repaid20k, defaulted, compensated, recovered)
	writeOff := func(fundID, amount, document string) domain.WriteOffLoan {
		return domain.WriteOffLoan{LoanID: "L1", Amount: yuan(amount), FundID: fundID, Date: d("2020-06-30"), Document: document}
	}
	closeLoan := domain.CloseLoan{LoanID: "L1", Date: d("2020-07-01")}
	runCases(t, []ruleCase{
		{name: "the remaining bad debt is written off against the reserve", given: afterRecovery, when: writtenOff,
			want: []domain.Event{domain.LoanWrittenOff{LoanID: "L1", FundID: "R", GuaranteeFundID: "G", Amount: yuan("50000"), Date: d("2020-06-30"), Document: "安政函〔2020〕88号"}}},
		{name: "a write-off needs an approval document", given: afterRecovery, when: writeOff("R", "50000", ""), rule: domain.ErrRequired, field: "document"},
		{name: "a write-off is charged to a bad-debt reserve only", given: afterRecovery, when: writeOff("ES", "50000", "doc"), rule: domain.ErrFundKind, field: "fund_id"},
		{name: "a write-off charged to an unknown fund is not found", given: afterRecovery, when: writeOff("R9", "50000", "doc"), rule: domain.ErrFundNotFound, field: "fund_id"},
		{name: "a write-off beyond what is owed is refused", given: afterRecovery, when: writeOff("R", "50000.01", "doc"), rule: domain.ErrExceedsOwed, field: "amount"},
		{name: "a partial write-off is refused", given: afterRecovery, when: writeOff("R", "49999.99", "doc"), rule: domain.ErrWriteOffNotAll, field: "amount"},
		{name: "a write-off while the bank is still owed is refused", given: lifeUntil(defaulted, domain.CompensateLoan{LoanID: "L1", Amount: yuan("60000"), Date: d("2019-07-15")}),
			when: writeOff("R", "60000", "doc"), rule: domain.ErrWriteOffNotAll, field: "amount"},
		{name: "a write-off beyond the reserve's balance is refused", given: []domain.Command{
			loanOf(domain.Individual, "P1", "150000", "2018-05-01"), defaulted,
			domain.CompensateLoan{LoanID: "L1", Amount: yuan("150000"), Date: d("2019-07-15")}},
			when: writeOff("R", "150000", "doc"), rule: domain.ErrFundOverdrawn, field: "amount"},
		{name: "nothing is repaid after a write-off", given: append(afterRecovery, writtenOff),
			when: domain.RepayLoan{LoanID: "L1", Interest: yuan("1"), Date: d("2020-07-01")}, rule: domain.ErrLoanClosed, field: "loan_id"},
		{name: "nothing is recovered after a write-off", given: append(afterRecovery, writtenOff),
			when: domain.RecoverLoan{LoanID: "L1", Amount: yuan("1"), Date: d("2020-07-01")}, rule: domain.ErrLoanClosed, field: "loan_id"},
		{name: "a written-off loan is closed", given: append(afterRecovery, writtenOff), when: closeLoan},
		{name: "a repaid loan is closed", given: lifeUntil(domain.RepayLoan{LoanID: "L1", Principal: yuan("100000"), Date: d("2020-03-01")}), when: closeLoan,
			want: []domain.Event{domain.LoanClosed{LoanID: "L1", Date: d("2020-07-01")}}},
		{name: "a loan with outstanding principal is not closed", given: lifeUntil(repaid20k), when: closeLoan, rule: domain.ErrLoanOutstanding, field: "loan_id"},
		{name: "a loan is closed only once", given: append(afterRecovery, writtenOff, closeLoan), when: closeLoan, rule: domain.ErrLoanClosed, field: "loan_id"},
		{name: "nothing defaults after closing", given: append(afterRecovery, writtenOff, closeLoan), when: defaulted, rule: domain.ErrLoanClosed, field: "loan_id"},
		{name: "closing an unknown loan is not found", when: closeLoan, rule: domain.ErrLoanNotFound, field: "loan_id"},
	})
}
