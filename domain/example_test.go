package domain_test

import (
	"fmt"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/shopspring/decimal"
)

// run decides and evolves each command in turn, printing each event's type or
// the refusal: the sequencer's loop, without the log.
func run(l *domain.Ledger, commands ...domain.Command) {
	for _, c := range commands {
		events, err := l.Decide(c)
		if err != nil {
			fmt.Println("refused:", err)
			continue
		}
		for _, e := range events {
			l.Evolve(e)
			fmt.Println(e.EventType(), e.StreamID(), e.BusinessDate())
		}
	}
}

func yuan(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// A guaranteed startup loan from issue to write-off: the borrower repays part,
// defaults, the guarantee fund compensates the bank, part is recovered and the
// rest is written off against the poverty reserve.
func ExampleLedger_loanLife() {
	l := domain.NewLedger()
	key := []byte("example key")
	borrower := domain.Pseudonym(key, "610902199003071231")
	run(l,
		domain.DefineRegion{Code: "610900", Name: "安康市", Date: domain.MustDate("2017-01-01")},
		domain.DefineRegion{Code: "610902", Name: "汉滨区", ParentCode: "610900", Date: domain.MustDate("2017-01-01")},
		domain.OpenFund{FundID: "AK-GUARANTEE", Name: "安康市创业担保基金", Kind: domain.FundGuarantee, RegionCode: "610900", Date: domain.MustDate("2017-01-01")},
		domain.OpenFund{FundID: "AK-RESERVE", Name: "扶贫专项资金", Kind: domain.FundBadDebtReserve, RegionCode: "610900", Date: domain.MustDate("2017-01-01")},
		domain.AllocateFund{FundID: "AK-GUARANTEE", Amount: yuan("1000000"), Date: domain.MustDate("2017-01-05"), Document: "安财发〔2017〕1号"},
		domain.AllocateFund{FundID: "AK-RESERVE", Amount: yuan("200000"), Date: domain.MustDate("2017-01-05"), Document: "安财发〔2017〕2号"},
		domain.RegisterBeneficiary{BeneficiaryID: borrower, Kind: domain.Person, IDNumber: "610902199003071231",
			RegionCode: "610902", Date: domain.MustDate("2017-02-01"),
			Categories: []domain.CategoryPeriod{{Category: domain.PovertyLabour, From: domain.MustDate("2016-01-01"), To: domain.MustDate("2020-12-31")}}},
		domain.IssueLoan{LoanID: "L2017-0001", BorrowerID: borrower, BorrowerKind: domain.Individual, Bank: "安康农商银行",
			Principal: yuan("120000"), AnnualRate: yuan("0.0435"), TermMonths: 36, IssueDate: domain.MustDate("2017-03-01"),
			GuaranteeFundID: "AK-GUARANTEE", RegionCode: "610902", CounterGuaranteeWaived: true, JobsCreated: 3},
		domain.IssueLoan{LoanID: "L2017-0002", BorrowerID: borrower, BorrowerKind: domain.Individual, Bank: "安康农商银行",
			Principal: yuan("80000"), AnnualRate: yuan("0.0435"), TermMonths: 36, IssueDate: domain.MustDate("2017-03-01"),
			GuaranteeFundID: "AK-GUARANTEE", RegionCode: "610902", CounterGuaranteeWaived: true, JobsCreated: 3},
		domain.RepayLoan{LoanID: "L2017-0002", Principal: yuan("20000"), Interest: yuan("1740"), Date: domain.MustDate("2018-03-01")},
		domain.DeclareDefault{LoanID: "L2017-0002", Date: domain.MustDate("2019-06-30")},
		domain.CompensateLoan{LoanID: "L2017-0002", Amount: yuan("70000"), Date: domain.MustDate("2019-07-15")},
		domain.CompensateLoan{LoanID: "L2017-0002", Amount: yuan("60000"), Date: domain.MustDate("2019-07-15")},
		domain.RecoverLoan{LoanID: "L2017-0002", Amount: yuan("15000"), Date: domain.MustDate("2019-12-01")},
		domain.WriteOffLoan{LoanID: "L2017-0002", Amount: yuan("45000"), FundID: "AK-RESERVE", Date: domain.MustDate("2020-06-30"), Document: "安政函〔2020〕88号"},
		domain.CloseLoan{LoanID: "L2017-0002", Date: domain.MustDate("2020-07-01")},
		domain.RepayLoan{LoanID: "L2017-0002", Principal: yuan("1"), Date: domain.MustDate("2020-07-02")},
	)
	loan, _ := l.Loan("L2017-0002")
	guarantee, _ := l.FundBalance("AK-GUARANTEE")
	reserve, _ := l.FundBalance("AK-RESERVE")
	fmt.Println("status", loan.Status, "outstanding", loan.Outstanding, "guarantee fund", guarantee, "reserve", reserve)
	// Output:
	// region.defined.v1 region-610900 2017-01-01
	// region.defined.v1 region-610902 2017-01-01
	// fund.opened.v1 fund-AK-GUARANTEE 2017-01-01
	// fund.opened.v1 fund-AK-RESERVE 2017-01-01
	// fund.allocated.v1 fund-AK-GUARANTEE 2017-01-05
	// fund.allocated.v1 fund-AK-RESERVE 2017-01-05
	// beneficiary.registered.v1 beneficiary-058392aee2d5c020ac4d6d38ddd156b66418e4e9e47f7ec502fd1f4e264fcba4 2017-02-01
	// refused: domain: principal: principal exceeds the cap of the loan policy in force (120000 exceeds 100000 for individual under the policy of 1900-01-01 (财金〔2016〕85号))
	// loan.issued.v1 loan-L2017-0002 2017-03-01
	// loan.repaid.v1 loan-L2017-0002 2018-03-01
	// loan.defaulted.v1 loan-L2017-0002 2019-06-30
	// refused: domain: amount: exceeds what is owed (70000, but 60000 is owed to the bank)
	// loan.compensated.v1 loan-L2017-0002 2019-07-15
	// loan.recovered.v1 loan-L2017-0002 2019-12-01
	// loan.written_off.v1 loan-L2017-0002 2020-06-30
	// loan.closed.v1 loan-L2017-0002 2020-07-01
	// refused: domain: loan_id: loan is closed or written off (loan L2017-0002 is closed)
	// status closed outstanding 0 guarantee fund 1000000 reserve 155000
}

// A one-time startup subsidy of 5000 yuan, paid once per person: a second
// payment is refused until the first is reversed as paid in error, which
// returns the money to the fund and frees the person's limit.
func ExampleLedger_subsidy() {
	l := domain.NewLedger()
	person := domain.Pseudonym([]byte("example key"), "610924198506124562")
	run(l,
		domain.DefineRegion{Code: "610900", Name: "安康市", Date: domain.MustDate("2017-01-01")},
		domain.OpenFund{FundID: "AK-JOBS-2017", Name: "就业补助资金", Kind: domain.FundEmploymentSubsidy, RegionCode: "610900", Date: domain.MustDate("2017-01-01")},
		domain.AllocateFund{FundID: "AK-JOBS-2017", Amount: yuan("12000"), Date: domain.MustDate("2017-01-05"), Document: "陕财社〔2017〕5号"},
		domain.RegisterBeneficiary{BeneficiaryID: person, Kind: domain.Person, IDNumber: "610924198506124562", RegionCode: "610900",
			Date:       domain.MustDate("2017-02-01"),
			Categories: []domain.CategoryPeriod{{Category: domain.ReturningMigrant, From: domain.MustDate("2017-01-01"), To: domain.MustDate("2019-12-31")}}},
		domain.DefineProgram{ProgramID: "STARTUP-2017", SubsidyType: domain.OneTimeStartup, Name: "一次性创业补贴",
			AmountRule: domain.AmountRule{Fixed: yuan("5000")}, EligibleCategories: []domain.Category{domain.ReturningMigrant},
			LimitPerBeneficiary: 1, ValidFrom: domain.MustDate("2017-01-01"), ValidTo: domain.MustDate("2017-12-31")},
		domain.PaySubsidy{PaymentID: "PAY-001", ProgramID: "STARTUP-2017", BeneficiaryID: person, FundID: "AK-JOBS-2017",
			Amount: yuan("5000"), Date: domain.MustDate("2017-04-10"), Document: "安人社发〔2017〕12号"},
		domain.PaySubsidy{PaymentID: "PAY-002", ProgramID: "STARTUP-2017", BeneficiaryID: person, FundID: "AK-JOBS-2017",
			Amount: yuan("5000"), Date: domain.MustDate("2017-05-10"), Document: "安人社发〔2017〕12号"},
		domain.ReverseSubsidy{PaymentID: "PAY-001", Date: domain.MustDate("2017-05-20"), Reason: "录错申领人"},
		domain.PaySubsidy{PaymentID: "PAY-003", ProgramID: "STARTUP-2017", BeneficiaryID: person, FundID: "AK-JOBS-2017",
			Amount: yuan("5000"), Date: domain.MustDate("2017-06-10"), Document: "安人社发〔2017〕12号"},
	)
	balance, _ := l.FundBalance("AK-JOBS-2017")
	fmt.Println("fund balance", balance)
	events, _ := l.Decide(domain.ReverseSubsidy{PaymentID: "PAY-003", Amount: yuan("1000"), Date: domain.MustDate("2017-07-01"), Reason: "部分追回"})
	for _, p := range domain.Postings(events[0]) {
		fmt.Println("posting", p.From[:12], "->", p.To, p.Amount)
	}
	// Output:
	// region.defined.v1 region-610900 2017-01-01
	// fund.opened.v1 fund-AK-JOBS-2017 2017-01-01
	// fund.allocated.v1 fund-AK-JOBS-2017 2017-01-05
	// beneficiary.registered.v1 beneficiary-680cda0751d80b9b6ddf503fc3ff7d197cad71652456935bf0d2c3ff28fed102 2017-02-01
	// program.defined.v1 program-STARTUP-2017 2017-01-01
	// subsidy.paid.v1 payment-PAY-001 2017-04-10
	// refused: domain: beneficiary_id: beneficiary has reached the program's limit (1 of 1 payments used)
	// subsidy.reversed.v1 payment-PAY-001 2017-05-20
	// subsidy.paid.v1 payment-PAY-003 2017-06-10
	// fund balance 7000
	// posting beneficiary: -> fund:AK-JOBS-2017 1000
}
