package domain_test

import (
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

func TestRegionAndFundRules(t *testing.T) {
	jan := d("2017-01-01")
	region := func(code, parent string) domain.DefineRegion {
		return domain.DefineRegion{Code: code, Name: "某地", ParentCode: parent, Date: jan}
	}
	allocate := func(fundID, amount, document string) domain.AllocateFund {
		return domain.AllocateFund{FundID: fundID, Amount: yuan(amount), Date: jan, Document: document}
	}
	openFund := func(id string, kind domain.FundKind, regionCode string) domain.OpenFund {
		return domain.OpenFund{FundID: id, Name: "基金", Kind: kind, RegionCode: regionCode, Date: jan}
	}
	runCases(t, []ruleCase{
		{name: "a village under a town is defined", when: domain.DefineRegion{Code: "610922101202", Name: "新村", ParentCode: "610922101", PoorVillage: true, Date: jan},
			want: []domain.Event{domain.RegionDefined{Code: "610922101202", Name: "新村", ParentCode: "610922101", PoorVillage: true, Date: jan}}},
		{name: "a region code of seven digits is malformed", when: region("6109021", "610900"), rule: domain.ErrRegionCodeFormat, field: "code"},
		{name: "a region code with letters is malformed", when: region("61090A", "610900"), rule: domain.ErrRegionCodeFormat, field: "code"},
		{name: "a region under an unknown parent is not found", when: region("619901", "619900"), rule: domain.ErrRegionNotFound, field: "parent_code"},
		{name: "a region defined twice conflicts", when: region("610902", "610900"), rule: domain.ErrDuplicateID, field: "code"},
		{name: "a region without a name is invalid", when: domain.DefineRegion{Code: "610903", ParentCode: "610900", Date: jan}, rule: domain.ErrRequired, field: "name"},
		{name: "a region without a date is invalid", when: domain.DefineRegion{Code: "610903", Name: "x", ParentCode: "610900"}, rule: domain.ErrRequired, field: "date"},
		{name: "a fund of an unknown kind is invalid", when: openFund("F9", "slush", "610900"), rule: domain.ErrUnknownValue, field: "kind"},
		{name: "a fund in an unknown region is not found", when: openFund("F9", domain.FundGuarantee, "619900"), rule: domain.ErrRegionNotFound, field: "region_code"},
		{name: "a fund id with a colon is invalid", when: openFund("F:9", domain.FundGuarantee, "610900"), rule: domain.ErrBadID, field: "fund_id"},
		{name: "a fund opened twice conflicts", when: openFund("ES", domain.FundEmploymentSubsidy, "610900"), rule: domain.ErrDuplicateID, field: "fund_id"},
		{name: "an allocation draws on the fund's region budget", when: allocate("ES", "250000000", "安政发〔2022〕1号"),
			want: []domain.Event{domain.FundAllocated{FundID: "ES", RegionCode: "610900", Amount: yuan("250000000"), Date: jan, Document: "安政发〔2022〕1号"}}},
		{name: "an allocation of zero is refused", when: allocate("ES", "0", "doc"), rule: domain.ErrAmountNotPositive, field: "amount"},
		{name: "a negative allocation is malformed", when: allocate("ES", "-5", "doc"), rule: domain.ErrMoneyFormat, field: "amount"},
		{name: "an allocation with three decimals is malformed", when: allocate("ES", "1.005", "doc"), rule: domain.ErrMoneyFormat, field: "amount"},
		{name: "an allocation to an unknown fund is not found", when: allocate("NOPE", "1", "doc"), rule: domain.ErrFundNotFound, field: "fund_id"},
		{name: "an allocation without a document is invalid", when: allocate("ES", "1", ""), rule: domain.ErrRequired, field: "document"},
	})
}

func TestBeneficiaryRules(t *testing.T) {
	jan := d("2017-01-01")
	person := func(id, number, regionCode string, periods ...domain.CategoryPeriod) domain.RegisterBeneficiary {
		return domain.RegisterBeneficiary{BeneficiaryID: id, Kind: domain.Person, IDNumber: number, RegionCode: regionCode, Date: jan, Categories: periods}
	}
	certify := func(id string, category domain.Category, document string) domain.CertifyCategory {
		return domain.CertifyCategory{BeneficiaryID: id, Category: category, From: d("2018-01-01"), To: d("2019-12-31"), Document: document}
	}
	runCases(t, []ruleCase{
		{name: "a person is registered with the encrypted blob and never the ID number",
			when: domain.RegisterBeneficiary{BeneficiaryID: "P9", Kind: domain.Person, IDNumber: "11010519491231002x", Personal: []byte{1, 2, 3}, RegionCode: "610902", Date: jan},
			want: []domain.Event{domain.BeneficiaryRegistered{BeneficiaryID: "P9", Kind: domain.Person, RegionCode: "610902", Personal: []byte{1, 2, 3}, Date: jan}}},
		{name: "an ID number with a wrong check digit is invalid", when: person("P9", "610902199003071232", "610902"), rule: domain.ErrIDNumber, field: "id_number"},
		{name: "an ID number with an impossible birth date is invalid", when: person("P9", "610902199002301234", "610902"), rule: domain.ErrIDNumber, field: "id_number"},
		{name: "a missing ID number is invalid", when: person("P9", "", "610902"), rule: domain.ErrIDNumber, field: "id_number"},
		{name: "a credit code with a wrong check character is invalid",
			when: domain.RegisterBeneficiary{BeneficiaryID: "E9", Kind: domain.Enterprise, CreditCode: "91610900MA70A1B2C8", RegionCode: "610900", Date: jan},
			rule: domain.ErrCreditCode, field: "credit_code"},
		{name: "an enterprise with a valid credit code is registered",
			when: domain.RegisterBeneficiary{BeneficiaryID: "E9", Kind: domain.Enterprise, CreditCode: "91350100M000100Y43", RegionCode: "610900", Date: jan}},
		{name: "a person with a credit code is invalid",
			when: domain.RegisterBeneficiary{BeneficiaryID: "P9", Kind: domain.Person, IDNumber: idPlain, CreditCode: creditCodeE1, RegionCode: "610900", Date: jan},
			rule: domain.ErrUnknownValue, field: "credit_code"},
		{name: "a person registered again is a recognisable conflict", when: person("P1", idPoor, "610902"), rule: domain.ErrBeneficiaryExists, field: "beneficiary_id"},
		{name: "a person in an unknown region is not found", when: person("P9", idPlain, "610999"), rule: domain.ErrRegionNotFound, field: "region_code"},
		{name: "an unknown category is invalid", when: person("P9", idPlain, "610902", domain.CategoryPeriod{Category: "royalty", From: jan}), rule: domain.ErrUnknownValue, field: "categories"},
		{name: "a category ending before it begins is invalid",
			when: person("P9", idPlain, "610902", domain.CategoryPeriod{Category: domain.Veteran, From: jan, To: d("2016-12-31")}), rule: domain.ErrDateRange, field: "categories"},
		{name: "a certification is recorded", when: certify("P2", domain.HardToEmploy, "就业困难人员认定 2018-001"),
			want: []domain.Event{domain.CategoryCertified{BeneficiaryID: "P2", Category: domain.HardToEmploy, From: d("2018-01-01"), To: d("2019-12-31"), Document: "就业困难人员认定 2018-001"}}},
		{name: "a certification of an unknown person is not found", when: certify("P9", domain.HardToEmploy, "doc"), rule: domain.ErrBeneficiaryNotFound, field: "beneficiary_id"},
		{name: "a certification without a document is invalid", when: certify("P2", domain.HardToEmploy, ""), rule: domain.ErrRequired, field: "document"},
		{name: "a certification of an unknown category is invalid", when: certify("P2", "hero", "doc"), rule: domain.ErrUnknownValue, field: "category"},
	})
}

func TestProgramRules(t *testing.T) {
	program := func(id string, rule domain.AmountRule, mutate func(*domain.DefineProgram)) domain.DefineProgram {
		c := domain.DefineProgram{ProgramID: id, SubsidyType: domain.Transport, Name: "交通补贴", AmountRule: rule,
			ValidFrom: d("2017-01-01"), ValidTo: d("2017-12-31")}
		if mutate != nil {
			mutate(&c)
		}
		return c
	}
	fixed := domain.AmountRule{Fixed: yuan("500")}
	runCases(t, []ruleCase{
		{name: "a program with a fixed amount is defined", when: program("TR", fixed, nil)},
		{name: "a program with both fixed and max is invalid", when: program("TR", domain.AmountRule{Fixed: yuan("1"), Max: yuan("2")}, nil), rule: domain.ErrAmountRuleShape, field: "amount_rule"},
		{name: "a program with neither fixed nor max is invalid", when: program("TR", domain.AmountRule{}, nil), rule: domain.ErrAmountRuleShape, field: "amount_rule"},
		{name: "a program with a negative max is malformed", when: program("TR", domain.AmountRule{Max: yuan("-1")}, nil), rule: domain.ErrMoneyFormat, field: "amount_rule"},
		{name: "a negative per-beneficiary limit is invalid", when: program("TR", fixed, func(c *domain.DefineProgram) { c.LimitPerBeneficiary = -1 }), rule: domain.ErrNegative, field: "limit_per_beneficiary"},
		{name: "an unknown eligible category is invalid", when: program("TR", fixed, func(c *domain.DefineProgram) { c.EligibleCategories = []domain.Category{"vip"} }), rule: domain.ErrUnknownValue, field: "eligible_categories"},
		{name: "a period ending before it begins is invalid", when: program("TR", fixed, func(c *domain.DefineProgram) { c.ValidTo = d("2016-01-01") }), rule: domain.ErrDateRange, field: "valid_to"},
		{name: "an unknown subsidy type is invalid", when: program("TR", fixed, func(c *domain.DefineProgram) { c.SubsidyType = "bonus" }), rule: domain.ErrUnknownValue, field: "subsidy_type"},
		{name: "a program defined twice conflicts", when: program("STARTUP", fixed, nil), rule: domain.ErrDuplicateID, field: "program_id"},
	})
}

func pay(id, program, beneficiary, fundID, amount, date string) domain.PaySubsidy {
	return domain.PaySubsidy{PaymentID: id, ProgramID: program, BeneficiaryID: beneficiary, FundID: fundID,
		Amount: yuan(amount), Date: d(date), Document: "安人社发〔2017〕9号"}
}

func reverse(id, amount, date string) domain.ReverseSubsidy {
	return domain.ReverseSubsidy{PaymentID: id, Amount: yuan(amount), Date: d(date), Reason: "重复申领"}
}

func TestSubsidyRules(t *testing.T) {
	paid := pay("PAY1", "STARTUP", "P1", "ES", "5000", "2017-06-01")
	hardProgram := domain.DefineProgram{ProgramID: "HARD", SubsidyType: domain.SocialInsurance, Name: "社会保险补贴",
		AmountRule: domain.AmountRule{Max: yuan("3000")}, EligibleCategories: []domain.Category{domain.HardToEmploy}, ValidFrom: d("2017-01-01")}
	runCases(t, []ruleCase{
		{name: "an eligible person is paid the fixed amount from the employment subsidy fund", when: paid,
			want: []domain.Event{domain.SubsidyPaid{PaymentID: "PAY1", ProgramID: "STARTUP", SubsidyType: domain.OneTimeStartup, BeneficiaryID: "P1",
				FundID: "ES", RegionCode: "610902", Amount: yuan("5000"), Date: d("2017-06-01"), Document: "安人社发〔2017〕9号"}}},
		{name: "a payment id used twice conflicts", given: []domain.Command{paid}, when: pay("PAY1", "POST", "P2", "ES", "100", "2017-06-01"), rule: domain.ErrDuplicateID, field: "payment_id"},
		{name: "a payment under an unknown program is not found", when: pay("PAY1", "NOPE", "P1", "ES", "5000", "2017-06-01"), rule: domain.ErrProgramNotFound, field: "program_id"},
		{name: "a payment to an unknown beneficiary is not found", when: pay("PAY1", "STARTUP", "P9", "ES", "5000", "2017-06-01"), rule: domain.ErrBeneficiaryNotFound, field: "beneficiary_id"},
		{name: "a payment from an unknown fund is not found", when: pay("PAY1", "STARTUP", "P1", "NOPE", "5000", "2017-06-01"), rule: domain.ErrFundNotFound, field: "fund_id"},
		{name: "a subsidy from the guarantee fund is refused", when: pay("PAY1", "STARTUP", "P1", "G", "5000", "2017-06-01"), rule: domain.ErrFundKind, field: "fund_id"},
		{name: "a stable-job return from the employment subsidy fund is refused", when: pay("PAY1", "STABLE", "E1", "ES", "5000", "2017-06-01"), rule: domain.ErrFundKind, field: "fund_id"},
		{name: "a stable-job return from unemployment insurance is paid", when: pay("PAY1", "STABLE", "E1", "UI", "5000", "2017-06-01")},
		{name: "an amount other than the fixed one is refused", when: pay("PAY1", "STARTUP", "P1", "ES", "4000", "2017-06-01"), rule: domain.ErrAmountRule, field: "amount"},
		{name: "an amount above the program's max is refused", when: pay("PAY1", "POST", "P2", "ES", "1000.01", "2017-06-01"), rule: domain.ErrAmountRule, field: "amount"},
		{name: "an amount up to the program's max is paid", when: pay("PAY1", "POST", "P2", "ES", "1000", "2017-06-01")},
		{name: "a payment before the program's period is refused", when: pay("PAY1", "STARTUP", "P1", "ES", "5000", "2016-12-31"), rule: domain.ErrProgramPeriod, field: "date"},
		{name: "a payment after the program's period is refused", when: pay("PAY1", "STARTUP", "P1", "ES", "5000", "2023-01-01"), rule: domain.ErrProgramPeriod, field: "date"},
		{name: "a person without an eligible category is refused", when: pay("PAY1", "STARTUP", "P2", "ES", "5000", "2017-06-01"), rule: domain.ErrNotEligible, field: "beneficiary_id"},
		{name: "a category that expired before the payment date does not count", given: []domain.Command{hardProgram},
			when: pay("PAY1", "HARD", "P3", "ES", "100", "2018-01-02"), rule: domain.ErrNotEligible, field: "beneficiary_id"},
		{name: "a category valid on the payment date counts", given: []domain.Command{hardProgram}, when: pay("PAY1", "HARD", "P3", "ES", "100", "2017-12-31")},
		{name: "a second one-time subsidy is refused", given: []domain.Command{paid}, when: pay("PAY2", "STARTUP", "P1", "ES", "5000", "2017-07-01"), rule: domain.ErrBeneficiaryLimit, field: "beneficiary_id"},
		{name: "a fully reversed payment does not count against the limit", given: []domain.Command{paid, reverse("PAY1", "0", "2017-06-02")},
			when: pay("PAY2", "STARTUP", "P1", "ES", "5000", "2017-07-01")},
		{name: "a partly reversed payment still counts against the limit", given: []domain.Command{paid, reverse("PAY1", "1000", "2017-06-02")},
			when: pay("PAY2", "STARTUP", "P1", "ES", "5000", "2017-07-01"), rule: domain.ErrBeneficiaryLimit, field: "beneficiary_id"},
		{name: "a program without a limit pays again", given: []domain.Command{pay("PAY1", "POST", "P2", "ES", "1000", "2017-06-01")}, when: pay("PAY2", "POST", "P2", "ES", "1000", "2017-07-01")},
		{name: "a payment beyond the fund's balance is refused", when: pay("PAY1", "POST", "P2", "EMPTY", "0.01", "2017-06-01"), rule: domain.ErrFundOverdrawn, field: "amount"},
		{name: "a payment with three decimals is malformed", when: pay("PAY1", "POST", "P2", "ES", "0.001", "2017-06-01"), rule: domain.ErrMoneyFormat, field: "amount"},
		{name: "a payment of zero is refused", when: pay("PAY1", "POST", "P2", "ES", "0", "2017-06-01"), rule: domain.ErrAmountNotPositive, field: "amount"},
		{name: "a payment without a document is invalid", when: domain.PaySubsidy{PaymentID: "PAY1", ProgramID: "POST", BeneficiaryID: "P2", FundID: "ES", Amount: yuan("1"), Date: d("2017-06-01")},
			rule: domain.ErrRequired, field: "document"},
	})
}

func TestReversalRules(t *testing.T) {
	paid := pay("PAY1", "STARTUP", "P1", "ES", "5000", "2017-06-01")
	runCases(t, []ruleCase{
		{name: "a reversal without an amount reverses all that is left and points at the payment", given: []domain.Command{paid}, when: reverse("PAY1", "0", "2017-08-01"),
			want: []domain.Event{domain.SubsidyReversed{PaymentID: "PAY1", ProgramID: "STARTUP", BeneficiaryID: "P1", FundID: "ES", RegionCode: "610902",
				Amount: yuan("5000"), Date: d("2017-08-01"), Reason: "重复申领"}}},
		{name: "a reversal above the payment is refused", given: []domain.Command{paid}, when: reverse("PAY1", "5000.01", "2017-08-01"), rule: domain.ErrReversalExceedsPaid, field: "amount"},
		{name: "a second partial reversal above what is left is refused", given: []domain.Command{paid, reverse("PAY1", "3000", "2017-08-01")},
			when: reverse("PAY1", "2000.01", "2017-08-02"), rule: domain.ErrReversalExceedsPaid, field: "amount"},
		{name: "a second partial reversal of what is left is accepted", given: []domain.Command{paid, reverse("PAY1", "3000", "2017-08-01")}, when: reverse("PAY1", "2000", "2017-08-02")},
		{name: "a fully reversed payment cannot be reversed again", given: []domain.Command{paid, reverse("PAY1", "0", "2017-08-01")},
			when: reverse("PAY1", "0", "2017-08-02"), rule: domain.ErrAlreadyReversed, field: "payment_id"},
		{name: "a reversal of an unknown payment is not found", when: reverse("PAY9", "0", "2017-08-01"), rule: domain.ErrPaymentNotFound, field: "payment_id"},
		{name: "a reversal without a reason is invalid", given: []domain.Command{paid}, when: domain.ReverseSubsidy{PaymentID: "PAY1", Date: d("2017-08-01")}, rule: domain.ErrRequired, field: "reason"},
		{name: "a reversal dated before the payment is refused", given: []domain.Command{paid}, when: reverse("PAY1", "0", "2017-05-31"), rule: domain.ErrDateBeforeOriginal, field: "date"},
	})
}
