package main

import (
	"testing"
)

// TestServeEveryCommandEndpoint walks every command endpoint of API.md over
// real HTTP on the embedded store: a loan through its whole life, a subsidy
// reversed, placements ended and reversed, trainings, targets, statistics,
// and the views that follow from them.
func TestServeEveryCommandEndpoint(t *testing.T) {
	s := startServer(t, t.TempDir())
	person := seedCity(s)
	s.must(201, "POST", "/v1/regions", officer, map[string]any{"code": "610902100201", "name": "中坝村",
		"parent_code": "610902", "flags": []string{"poor_village", "credit_village"}})
	s.must(201, "POST", "/v1/beneficiaries/"+person+"/categories", officer, map[string]any{"category": "poverty_labour",
		"from": "2017-01-01", "to": "2020-12-31", "document": "建档立卡"})
	s.must(201, "POST", "/v1/funds", officer, map[string]any{"fund_id": "AK-GUAR", "name": "创业担保基金", "kind": "guarantee", "region_code": "610900"})
	s.must(201, "POST", "/v1/funds/AK-GUAR/allocations", officer, map[string]any{"amount": "500000", "date": "2017-01-05", "document": "安财社〔2017〕2号"})
	s.must(201, "POST", "/v1/funds", officer, map[string]any{"fund_id": "AK-RES", "name": "扶贫专项资金", "kind": "bad_debt_reserve", "region_code": "610900"})
	s.must(201, "POST", "/v1/funds/AK-RES/allocations", officer, map[string]any{"amount": "100000", "date": "2017-01-05", "document": "安财社〔2017〕3号"})

	t.Run("a loan lives from issue to write-off and close", func(t *testing.T) {
		loan := map[string]any{"loan_id": "L-1", "borrower_id": person, "borrower_kind": "individual", "bank": "安康农商行",
			"principal": "100000", "annual_rate": "0.0435", "term_months": 36, "issue_date": "2017-03-01",
			"guarantee_fund_id": "AK-GUAR", "region_code": "610902100201", "counter_guarantee_waived": true, "jobs_created": 3}
		s.must(201, "POST", "/v1/loans", officer, loan)
		over := map[string]any{"loan_id": "L-2", "borrower_id": person, "borrower_kind": "individual", "bank": "安康农商行",
			"principal": "100000.01", "annual_rate": "0.0435", "term_months": 36, "issue_date": "2017-03-01",
			"guarantee_fund_id": "AK-GUAR", "region_code": "610902", "jobs_created": 1}
		if a := s.do("POST", "/v1/loans", officer, over); a.status != 422 || a.body["field"] != "principal" {
			t.Errorf("loan above the 2017 cap: got %d %s, want 422 naming principal", a.status, a.raw)
		}
		s.must(201, "POST", "/v1/loans/L-1/interest-subsidies", officer, map[string]any{"amount": "1087.50", "fund_id": "AK-EMP", "period_end": "2017-06-30"})
		s.must(201, "POST", "/v1/loans/L-1/repayments", officer, map[string]any{"principal": "20000", "interest": "1087.50", "date": "2017-09-01"})
		if a := s.do("POST", "/v1/loans/L-1/repayments", officer, map[string]any{"principal": "80000.01", "interest": "0", "date": "2017-10-01"}); a.status != 409 {
			t.Errorf("repayment beyond what is owed: got %d %s, want 409", a.status, a.raw)
		}
		s.must(201, "POST", "/v1/loans/L-1/defaults", officer, map[string]any{"date": "2018-01-10"})
		if a := s.do("POST", "/v1/loans/L-1/interest-subsidies", officer, map[string]any{"amount": "100", "fund_id": "AK-EMP", "period_end": "2018-03-31"}); a.status != 422 {
			t.Errorf("interest subsidy in default: got %d %s, want 422", a.status, a.raw)
		}
		s.must(201, "POST", "/v1/loans/L-1/compensations", officer, map[string]any{"amount": "80000", "date": "2018-02-01"})
		s.must(201, "POST", "/v1/loans/L-1/recoveries", officer, map[string]any{"amount": "30000", "date": "2018-06-01"})
		if a := s.do("POST", "/v1/loans/L-1/write-offs", officer, map[string]any{"amount": "50000", "fund_id": "AK-RES", "date": "2018-12-01", "document": "安财社〔2018〕9号"}); a.status != 403 {
			t.Errorf("write-off by an officer: got %d, want 403", a.status)
		}
		s.must(201, "POST", "/v1/loans/L-1/write-offs", approver, map[string]any{"amount": "50000", "fund_id": "AK-RES", "date": "2018-12-01", "document": "安财社〔2018〕9号"})
		s.must(201, "POST", "/v1/loans/L-1/closures", officer, map[string]any{"date": "2018-12-02"})
		if a := s.do("POST", "/v1/loans/L-1/repayments", officer, map[string]any{"principal": "1", "interest": "0", "date": "2019-01-01"}); a.status != 409 {
			t.Errorf("repayment after close: got %d %s, want 409", a.status, a.raw)
		}
		got := s.must(200, "GET", "/v1/loans/L-1", viewer, nil).body
		want := map[string]string{"status": "closed", "principal": "100000.00", "outstanding_principal": "0.00",
			"repaid_principal": "20000.00", "compensated": "80000.00", "recovered": "30000.00", "written_off": "50000.00"}
		for field, value := range want {
			if got[field] != value {
				t.Errorf("loan %s: got %v, want %s", field, got[field], value)
			}
		}
		portfolio := s.must(200, "GET", "/v1/portfolio?region=610900", viewer, nil).body
		for field, value := range map[string]any{"issued_count": float64(1), "issued_amount": "100000.00", "compensated_amount": "80000.00",
			"recovered_amount": "30000.00", "written_off_amount": "50000.00", "repayment_rate": "20.0", "recovery_rate": "37.5"} {
			if portfolio[field] != value {
				t.Errorf("portfolio %s: got %v, want %v", field, portfolio[field], value)
			}
		}
		guarantee := s.must(200, "GET", "/v1/funds/AK-GUAR", viewer, nil).body
		if guarantee["balance"] != "500000.00" { // 500000 - 80000 compensated + 30000 recovered + 50000 from the reserve
			t.Errorf("guarantee fund balance: got %v, want 500000.00", guarantee["balance"])
		}
	})

	t.Run("a subsidy is reversed by an approver, not beyond what was paid", func(t *testing.T) {
		paid := s.must(201, "POST", "/v1/subsidies", officer, map[string]any{"program_id": "P-STARTUP", "beneficiary_id": person,
			"fund_id": "AK-EMP", "amount": "5000", "date": "2017-05-01", "document": "安人社发〔2017〕9号"})
		id := paid.body["payment_id"].(string)
		s.must(403, "POST", "/v1/subsidies/"+id+"/reversals", officer, map[string]any{"reason": "错发", "date": "2017-05-02"})
		s.must(201, "POST", "/v1/subsidies/"+id+"/reversals", approver, map[string]any{"reason": "部分错发", "date": "2017-05-02", "amount": "1000"})
		if a := s.do("POST", "/v1/subsidies/"+id+"/reversals", approver, map[string]any{"reason": "x", "date": "2017-05-03", "amount": "4000.01"}); a.status != 409 {
			t.Errorf("reversal beyond what was paid: got %d %s, want 409", a.status, a.raw)
		}
		s.must(201, "POST", "/v1/subsidies/"+id+"/reversals", approver, map[string]any{"reason": "全部错发", "date": "2017-05-03"})
		s.must(404, "POST", "/v1/subsidies/nope/reversals", approver, map[string]any{"reason": "x", "date": "2017-05-03"})
	})

	t.Run("placements, trainings, targets and statistics make progress", func(t *testing.T) {
		s.must(200, "PUT", "/v1/targets", officer, map[string]any{"region_code": "610900", "year": 2017, "indicator": "new_urban_jobs",
			"issuer": "province", "value": 2, "direction": "floor"})
		s.must(200, "PUT", "/v1/targets", officer, map[string]any{"region_code": "610900", "year": 2017, "indicator": "registered_unemployment_rate",
			"issuer": "province", "value": "3.9", "direction": "ceiling"})
		s.must(201, "POST", "/v1/statistics", officer, map[string]any{"region_code": "610900", "year": 2017, "indicator": "registered_unemployment_rate",
			"value": "3.20", "date": "2017-12-31"})
		s.must(201, "POST", "/v1/placements", officer, map[string]any{"placement_id": "P-1", "beneficiary_id": person, "kind": "urban_job",
			"region_code": "610902", "date": "2017-04-01", "employer": "安康毛绒玩具厂"})
		s.must(201, "POST", "/v1/placements/P-1/end", officer, map[string]any{"date": "2017-10-01", "reason": "合同到期"})
		s.must(201, "POST", "/v1/placements", officer, map[string]any{"placement_id": "P-2", "beneficiary_id": person, "kind": "rural_transfer",
			"region_code": "610902", "date": "2017-04-02"})
		s.must(403, "POST", "/v1/placements/P-2/reversals", officer, map[string]any{"date": "2017-04-03", "reason": "误录"})
		s.must(201, "POST", "/v1/placements/P-2/reversals", approver, map[string]any{"date": "2017-04-03", "reason": "误录"})
		s.must(201, "POST", "/v1/trainings", officer, map[string]any{"training_id": "T-1", "beneficiary_id": person, "course_kind": "entrepreneurship",
			"region_code": "610902", "date": "2017-05-01"})
		progress := s.must(200, "GET", "/v1/progress?region=610900&year=2017", viewer, nil)
		want := map[string]string{ // indicator/issuer -> actual percent
			"new_urban_jobs/province":               "1 50.0",
			"registered_unemployment_rate/province": "3.20 121.9",
			"rural_labour_transferred/":             "",
			"entrepreneurship_trainings/":           "1 ",
		}
		seen := map[string]bool{}
		for _, raw := range progress.body["indicators"].([]any) {
			ind := raw.(map[string]any)
			issuer, _ := ind["issuer"].(string)
			key := ind["indicator"].(string) + "/" + issuer
			expected, ok := want[key]
			if !ok {
				continue
			}
			seen[key] = true
			percent, _ := ind["percent"].(string)
			if got := ind["actual"].(string) + " " + percent; expected != "" && got != expected {
				t.Errorf("%s: got %q, want %q", key, got, expected)
			}
			if key == "rural_labour_transferred/" && ind["actual"] != "0" {
				t.Errorf("a reversed placement still counts: %v", ind)
			}
		}
		for key := range want {
			if !seen[key] && key != "rural_labour_transferred/" {
				t.Errorf("progress lacks %s: %s", key, progress.raw)
			}
		}
	})
}
