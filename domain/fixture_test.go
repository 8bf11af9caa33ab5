package domain_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

// Valid national identifiers (checksums computed by hand from GB 11643 / GB 32100).
const (
	idPoor       = "610902199003071231"
	idPlain      = "610924198506124562"
	idHard       = "610926199501017896"
	creditCodeE1 = "91610900MA70A1B2C7"
)

var d = domain.MustDate

// world is the state most rule tests start from: a region tree with a poor
// village and a credit town, four funds with money, three people and an
// enterprise, and three subsidy programs.
func world() []domain.Command {
	jan := d("2017-01-01")
	return []domain.Command{
		domain.DefineRegion{Code: "610000", Name: "陕西省", Date: jan},
		domain.DefineRegion{Code: "610900", Name: "安康市", ParentCode: "610000", Date: jan},
		domain.DefineRegion{Code: "610902", Name: "汉滨区", ParentCode: "610900", Date: jan},
		domain.DefineRegion{Code: "610922", Name: "石泉县", ParentCode: "610900", Date: jan},
		domain.DefineRegion{Code: "610922101", Name: "后柳镇", ParentCode: "610922", CreditVillage: true, Date: jan},
		domain.DefineRegion{Code: "610922101201", Name: "中坝村", ParentCode: "610922101", Date: jan},
		domain.DefineRegion{Code: "610902001001", Name: "贫困村", ParentCode: "610902", PoorVillage: true, Date: jan},
		domain.OpenFund{FundID: "ES", Name: "就业补助资金", Kind: domain.FundEmploymentSubsidy, RegionCode: "610900", Date: jan},
		domain.OpenFund{FundID: "UI", Name: "失业保险基金", Kind: domain.FundUnemploymentInsurance, RegionCode: "610900", Date: jan},
		domain.OpenFund{FundID: "G", Name: "创业担保基金", Kind: domain.FundGuarantee, RegionCode: "610900", Date: jan},
		domain.OpenFund{FundID: "R", Name: "扶贫专项资金", Kind: domain.FundBadDebtReserve, RegionCode: "610900", Date: jan},
		domain.OpenFund{FundID: "EMPTY", Name: "空基金", Kind: domain.FundEmploymentSubsidy, RegionCode: "610900", Date: jan},
		domain.AllocateFund{FundID: "ES", Amount: yuan("1000000"), Date: jan, Document: "陕财社〔2017〕1号"},
		domain.AllocateFund{FundID: "UI", Amount: yuan("100000"), Date: jan, Document: "陕财社〔2017〕2号"},
		domain.AllocateFund{FundID: "G", Amount: yuan("2000000"), Date: jan, Document: "陕财社〔2017〕3号"},
		domain.AllocateFund{FundID: "R", Amount: yuan("100000"), Date: jan, Document: "陕财社〔2017〕4号"},
		domain.RegisterBeneficiary{BeneficiaryID: "P1", Kind: domain.Person, IDNumber: idPoor, RegionCode: "610902", Date: jan,
			Categories: []domain.CategoryPeriod{
				{Category: domain.PovertyLabour, From: d("2016-01-01"), To: d("2020-12-31")},
				{Category: domain.Graduate, From: d("2017-01-01")},
			}},
		domain.RegisterBeneficiary{BeneficiaryID: "P2", Kind: domain.Person, IDNumber: idPlain, RegionCode: "610922101201", Date: jan},
		domain.RegisterBeneficiary{BeneficiaryID: "P3", Kind: domain.Person, IDNumber: idHard, RegionCode: "610902", Date: jan,
			Categories: []domain.CategoryPeriod{
				{Category: domain.HardToEmploy, From: d("2017-01-01"), To: d("2017-12-31")},
				{Category: domain.RegisteredUnemployed, From: d("2017-01-01"), To: d("2017-12-31")},
			}},
		domain.RegisterBeneficiary{BeneficiaryID: "E1", Kind: domain.Enterprise, CreditCode: creditCodeE1, RegionCode: "610900", Date: jan},
		domain.DefineProgram{ProgramID: "STARTUP", SubsidyType: domain.OneTimeStartup, Name: "一次性创业补贴",
			AmountRule: domain.AmountRule{Fixed: yuan("5000")}, EligibleCategories: []domain.Category{domain.PovertyLabour, domain.Graduate},
			LimitPerBeneficiary: 1, ValidFrom: d("2017-01-01"), ValidTo: d("2022-12-31")},
		domain.DefineProgram{ProgramID: "POST", SubsidyType: domain.PublicWelfarePost, Name: "公益性岗位补贴",
			AmountRule: domain.AmountRule{Max: yuan("1000")}, ValidFrom: d("2017-01-01")},
		domain.DefineProgram{ProgramID: "STABLE", SubsidyType: domain.StableJobReturn, Name: "稳岗返还",
			AmountRule: domain.AmountRule{Max: yuan("50000")}, ValidFrom: d("2017-01-01"), ValidTo: d("2017-12-31")},
	}
}

// given builds a ledger from the world and extra commands, failing the test
// when any of them is refused.
func given(t testing.TB, extra ...domain.Command) *domain.Ledger {
	t.Helper()
	l := domain.NewLedger()
	for _, c := range append(world(), extra...) {
		events, err := l.Decide(c)
		if err != nil {
			t.Fatalf("given %T: %v", c, err)
		}
		for _, e := range events {
			l.Evolve(e)
		}
	}
	return l
}

// wantRefusal checks that err is an *Error of rule, on field, with the rule's class.
func wantRefusal(t *testing.T, err error, rule *domain.Rule, field string) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("got error %v, want an *domain.Error of rule %q", err, rule)
	}
	if !errors.Is(err, rule) {
		t.Fatalf("got rule %q (%v), want rule %q", de.Rule, err, rule)
	}
	if de.Field != field {
		t.Errorf("got field %q, want %q (%v)", de.Field, field, err)
	}
	if de.Class != rule.Class() {
		t.Errorf("got class %v, want %v", de.Class, rule.Class())
	}
}

// jsonOf is the canonical form used to compare events (decimals compare by value there).
func jsonOf(t testing.TB, events []domain.Event) string {
	t.Helper()
	type typed struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	var out []typed
	for _, e := range events {
		eventType, data, err := domain.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, typed{eventType, data})
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ruleCase is one given / when / then case: the command is refused under
// rule on field, or (rule nil) accepted, producing want when want is set.
type ruleCase struct {
	name  string
	given []domain.Command
	when  domain.Command
	rule  *domain.Rule
	field string
	want  []domain.Event
}

func runCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := given(t, tc.given...)
			events, err := l.Decide(tc.when)
			if tc.rule != nil {
				wantRefusal(t, err, tc.rule, tc.field)
				if events != nil {
					t.Errorf("got events %v with a refusal, want none", events)
				}
				return
			}
			if err != nil {
				t.Fatalf("got refusal %v, want acceptance", err)
			}
			if len(events) == 0 {
				t.Fatal("got no events, want at least one")
			}
			if tc.want != nil {
				if got, want := jsonOf(t, events), jsonOf(t, tc.want); got != want {
					t.Errorf("got events\n%s\nwant\n%s", got, want)
				}
			}
			for _, e := range events {
				l.Evolve(e)
			}
		})
	}
}
