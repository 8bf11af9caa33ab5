package projections

import (
	"encoding/json"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

// ankang builds, through the domain's rules, a small city: funds, a
// subsidy, one loan repaid and one defaulted, compensated, partly recovered
// and written off.
func ankang(t testing.TB) *logBuilder {
	b := newLogBuilder(t)
	d := date("2017-01-01")
	for _, r := range []domain.DefineRegion{
		{Code: "610000", Name: "陕西省", Date: d},
		{Code: "610900", Name: "安康市", ParentCode: "610000", Date: d},
		{Code: "610902", Name: "汉滨区", ParentCode: "610900", Date: d},
		{Code: "610924", Name: "紫阳县", ParentCode: "610900", Date: d},
		{Code: "610924100201", Name: "某村", ParentCode: "610924", PoorVillage: true, CreditVillage: true, Date: d},
	} {
		b.command(r)
	}
	b.command(domain.OpenFund{FundID: "EMP", Name: "就业补助资金", Kind: domain.FundEmploymentSubsidy, RegionCode: "610900", Date: d})
	b.command(domain.OpenFund{FundID: "GUA", Name: "创业担保基金", Kind: domain.FundGuarantee, RegionCode: "610900", Date: d})
	b.command(domain.OpenFund{FundID: "RES", Name: "扶贫专项资金", Kind: domain.FundBadDebtReserve, RegionCode: "610900", Date: d})
	b.command(domain.AllocateFund{FundID: "EMP", Amount: money("1000000"), Date: date("2017-01-05"), Document: "安财社〔2017〕1号"})
	b.command(domain.AllocateFund{FundID: "GUA", Amount: money("500000"), Date: date("2017-01-05"), Document: "安财社〔2017〕2号"})
	b.command(domain.AllocateFund{FundID: "RES", Amount: money("100000"), Date: date("2017-01-05"), Document: "安财社〔2017〕3号"})
	for i, region := range []string{"610902", "610924100201"} {
		b.command(domain.RegisterBeneficiary{BeneficiaryID: person(i), Kind: domain.Person, IDNumber: idNumber(i),
			RegionCode: region, Date: d,
			Categories: []domain.CategoryPeriod{{Category: domain.PovertyLabour, From: d}}})
	}
	b.command(domain.DefineProgram{ProgramID: "STARTUP", SubsidyType: domain.OneTimeStartup, Name: "一次性创业补贴",
		AmountRule: domain.AmountRule{Fixed: money("5000")}, LimitPerBeneficiary: 1, ValidFrom: d})
	b.command(domain.PaySubsidy{PaymentID: "PAY1", ProgramID: "STARTUP", BeneficiaryID: person(0), FundID: "EMP",
		Amount: money("5000"), Date: date("2017-03-01"), Document: "安人社〔2017〕9号"})
	b.command(domain.IssueLoan{LoanID: "L1", BorrowerID: person(0), BorrowerKind: domain.Individual, Bank: "ABC",
		Principal: money("100000"), AnnualRate: money("0.0435"), TermMonths: 36, IssueDate: date("2017-02-01"),
		GuaranteeFundID: "GUA", RegionCode: "610902", JobsCreated: 3})
	b.command(domain.IssueLoan{LoanID: "L2", BorrowerID: person(1), BorrowerKind: domain.Individual, Bank: "ABC",
		Principal: money("80000"), AnnualRate: money("0.0435"), TermMonths: 36, IssueDate: date("2017-04-01"),
		GuaranteeFundID: "GUA", RegionCode: "610924100201", CounterGuaranteeWaived: true, JobsCreated: 2})
	b.command(domain.RepayLoan{LoanID: "L1", Principal: money("40000"), Interest: money("1200.50"), Date: date("2017-08-01")})
	b.command(domain.RepayLoan{LoanID: "L2", Principal: money("10000"), Interest: money("0"), Date: date("2017-09-01")})
	b.command(domain.DeclareDefault{LoanID: "L2", Date: date("2018-03-01")})
	b.command(domain.CompensateLoan{LoanID: "L2", Amount: money("70000"), Date: date("2018-04-01")})
	b.command(domain.RecoverLoan{LoanID: "L2", Amount: money("20000"), Date: date("2018-06-01")})
	b.command(domain.WriteOffLoan{LoanID: "L2", Amount: money("50000"), FundID: "RES", Date: date("2018-09-01"), Document: "安财核〔2018〕5号"})
	return b
}

func person(i int) string { return domain.Pseudonym([]byte("test key"), idNumber(i)) }

func TestPortfolio(t *testing.T) {
	p := project(t, ankang(t).store)
	tests := []struct {
		name, region string
		year         int
		asOf         string
		want         string
	}{
		{"the city over all years", "610900", 0, "",
			`"issued_count":2,"issued_amount":"180000.00","outstanding_principal":"60000.00","repaid_principal":"50000.00","defaulted_count":1,"compensated_amount":"70000.00","recovered_amount":"20000.00","written_off_amount":"50000.00","repayment_rate":"41.7","recovery_rate":"28.6","jobs_created":5`},
		{"the city in 2017 has no compensation yet", "610900", 2017, "",
			`"issued_count":2,"issued_amount":"180000.00","outstanding_principal":"130000.00","repaid_principal":"50000.00","defaulted_count":0,"compensated_amount":"0.00","recovered_amount":"0.00","written_off_amount":"0.00","repayment_rate":"100.0","recovery_rate":null,"jobs_created":5`},
		{"the city in 2018 only has the default's flows", "610900", 2018, "",
			`"issued_count":0,"issued_amount":"0.00","outstanding_principal":"60000.00","repaid_principal":"0.00","defaulted_count":1,"compensated_amount":"70000.00","recovered_amount":"20000.00","written_off_amount":"50000.00","repayment_rate":"0.0","recovery_rate":"28.6","jobs_created":0`},
		{"a county as of mid-2018, before the write-off", "610924", 0, "2018-07-01",
			`"issued_count":1,"issued_amount":"80000.00","outstanding_principal":"50000.00","repaid_principal":"10000.00","defaulted_count":1,"compensated_amount":"70000.00","recovered_amount":"20000.00","written_off_amount":"0.00","repayment_rate":"12.5","recovery_rate":"28.6","jobs_created":2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := p.Portfolio(tt.region, tt.year, tt.asOf)
			if err != nil {
				t.Fatal(err)
			}
			got := figures(t, rep, "issued_count")
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// figures returns the JSON of a report from the named field on.
func figures(t testing.TB, v any, from string) string {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for i := range s {
		if len(s)-i > len(from)+2 && s[i:i+len(from)+2] == `"`+from+`"` {
			return s[i : len(s)-1]
		}
	}
	t.Fatalf("no field %s in %s", from, s)
	return ""
}

func TestFunds(t *testing.T) {
	p := project(t, ankang(t).store)
	tests := []struct{ name, fund, asOf, want string }{
		{"the subsidy fund paid one subsidy", "EMP", "",
			`"balance":"995000.00","allocated":"1000000.00","paid_out":"5000.00","received":"0.00"`},
		{"the guarantee fund compensated, recovered and was made whole by the reserve", "GUA", "",
			`"balance":"500000.00","allocated":"500000.00","paid_out":"70000.00","received":"70000.00"`},
		{"the guarantee fund as of the recovery", "GUA", "2018-06-01",
			`"balance":"450000.00","allocated":"500000.00","paid_out":"70000.00","received":"20000.00"`},
		{"the reserve paid the write-off", "RES", "",
			`"balance":"50000.00","allocated":"100000.00","paid_out":"50000.00","received":"0.00"`},
		{"a fund before its allocation is empty", "EMP", "2017-01-04",
			`"balance":"0.00","allocated":"0.00","paid_out":"0.00","received":"0.00"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := p.Fund(tt.fund, tt.asOf)
			if err != nil {
				t.Fatal(err)
			}
			if got := figures(t, rep, "balance"); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLoans(t *testing.T) {
	p := project(t, ankang(t).store)
	tests := []struct{ name, loan, asOf, want string }{
		{"a loan partly repaid is active", "L1", "",
			`"status":"active","principal":"100000.00","outstanding_principal":"60000.00","repaid_principal":"40000.00","interest_paid":"1200.50","interest_subsidized":"0.00","compensated":"0.00","recovered":"0.00","written_off":"0.00"`},
		{"a defaulted loan still owes the guarantee fund after compensation", "L2", "2018-05-01",
			`"status":"defaulted","principal":"80000.00","outstanding_principal":"70000.00","repaid_principal":"10000.00","interest_paid":"0.00","interest_subsidized":"0.00","compensated":"70000.00","recovered":"0.00","written_off":"0.00"`},
		{"a written-off loan owes nothing", "L2", "",
			`"status":"written_off","principal":"80000.00","outstanding_principal":"0.00","repaid_principal":"10000.00","interest_paid":"0.00","interest_subsidized":"0.00","compensated":"70000.00","recovered":"20000.00","written_off":"50000.00"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := p.Loan(tt.loan, tt.asOf)
			if err != nil {
				t.Fatal(err)
			}
			got := figures(t, rep, "status")
			got = got[:len(got)-len(figures(t, rep, "jobs_created"))-1]
			got = stripFields(got, "borrower_id", "bank", "region_code", "issue_date", "as_of", "position")
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	t.Run("a loan is unknown before its issue date", func(t *testing.T) {
		if _, err := p.Loan("L2", "2017-03-31"); err == nil {
			t.Errorf("got no error, want not found")
		}
	})
}

// stripFields removes "name":value pairs from a JSON object's inside.
func stripFields(s string, names ...string) string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte("{"+s+"}"), &m); err != nil {
		return s
	}
	for _, n := range names {
		delete(m, n)
	}
	order := []string{"status", "principal", "outstanding_principal", "repaid_principal", "interest_paid",
		"interest_subsidized", "compensated", "recovered", "written_off"}
	out := ""
	for _, k := range order {
		if v, ok := m[k]; ok {
			if out != "" {
				out += ","
			}
			out += `"` + k + `":` + string(v)
		}
	}
	return out
}

func TestHistory(t *testing.T) {
	p := project(t, ankang(t).store)
	rep, err := p.History("fund:GUA", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range rep.Entries {
		got = append(got, e.Type+" "+e.Amount+" "+e.Counterparty+" -> "+e.BalanceAfter)
	}
	want := []string{
		"fund.allocated.v1 500000.00 budget:610900 -> 500000.00",
		"loan.compensated.v1 -70000.00 bank:ABC -> 430000.00",
		"loan.recovered.v1 20000.00 loan:L2 -> 450000.00",
		"loan.written_off.v1 50000.00 fund:RES -> 500000.00",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries %q, want %q", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %q, want %q", i, got[i], want[i])
		}
	}
	t.Run("a date range keeps the running balance of the whole history", func(t *testing.T) {
		rep, err := p.History("fund:GUA", "2018-06-01", "2018-12-31")
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Entries) != 2 || rep.Entries[0].BalanceAfter != "450000.00" {
			t.Errorf("got %+v, want the recovery (balance 450000.00) and the write-off", rep.Entries)
		}
	})
	t.Run("a beneficiary's history shows the subsidy with its document", func(t *testing.T) {
		rep, err := p.History("beneficiary:"+person(0), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Entries) != 1 || rep.Entries[0].Document != "安人社〔2017〕9号" || rep.Entries[0].Date != "2017-03-01" {
			t.Errorf("got %+v, want one subsidy of 2017-03-01 under 安人社〔2017〕9号", rep.Entries)
		}
	})
}
