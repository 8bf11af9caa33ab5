package domain_test

import (
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

// benchDecide measures Decide+Evolve of one accepted command, with the undo
// journal on (as in the sequencer) and rolled back after each iteration so
// that every iteration sees the same state.
func benchDecide(b *testing.B, setup []domain.Command, cmd domain.Command) {
	l := given(b, setup...)
	l.Mark()
	for b.Loop() {
		events, err := l.Decide(cmd)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range events {
			l.Evolve(e)
		}
		l.Rollback()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
}

var (
	paidPAY1     = pay("PAY1", "STARTUP", "P1", "ES", "5000", "2017-06-01")
	jobJ1        = place("J1", "P3", domain.UrbanJob, "2017-05-01")
	benchPolicy  = domain.LoanPolicy{EffectiveFrom: d("2021-01-01"), IndividualMax: yuan("300000"), PartnerShare: yuan("1.1"), EnterpriseMax: yuan("3000000")}
	benchTarget  = domain.SetTarget{RegionCode: "610900", Year: 2017, Indicator: domain.NewUrbanJobs, Issuer: domain.Province, Value: yuan("16000"), Direction: domain.Floor, Date: d("2017-01-10")}
	benchRegion  = domain.DefineRegion{Code: "610923", Name: "宁陕县", ParentCode: "610900", Date: d("2017-01-01")}
	benchPerson  = domain.RegisterBeneficiary{BeneficiaryID: "P9", Kind: domain.Person, IDNumber: "11010519491231002X", RegionCode: "610902", Date: d("2017-01-01")}
	benchProgram = domain.DefineProgram{ProgramID: "X", SubsidyType: domain.Transport, Name: "交通补贴", AmountRule: domain.AmountRule{Fixed: yuan("500")}, ValidFrom: d("2017-01-01")}
)

func BenchmarkDecideDefineRegion(b *testing.B) { benchDecide(b, nil, benchRegion) }
func BenchmarkDecideOpenFund(b *testing.B) {
	benchDecide(b, nil, domain.OpenFund{FundID: "F9", Name: "基金", Kind: domain.FundGuarantee, RegionCode: "610900", Date: d("2017-01-01")})
}
func BenchmarkDecideAllocateFund(b *testing.B) {
	benchDecide(b, nil, domain.AllocateFund{FundID: "ES", Amount: yuan("250000000"), Date: d("2017-01-01"), Document: "doc"})
}
func BenchmarkDecideRegisterBeneficiary(b *testing.B) { benchDecide(b, nil, benchPerson) }
func BenchmarkDecideCertifyCategory(b *testing.B) {
	benchDecide(b, nil, domain.CertifyCategory{BeneficiaryID: "P2", Category: domain.HardToEmploy, From: d("2018-01-01"), Document: "认定"})
}
func BenchmarkDecideDefineProgram(b *testing.B) { benchDecide(b, nil, benchProgram) }
func BenchmarkDecidePaySubsidy(b *testing.B)    { benchDecide(b, nil, paidPAY1) }
func BenchmarkDecideReverseSubsidy(b *testing.B) {
	benchDecide(b, []domain.Command{paidPAY1}, reverse("PAY1", "0", "2017-07-01"))
}
func BenchmarkDecideIssueLoan(b *testing.B) { benchDecide(b, nil, issue(nil)) }
func BenchmarkDecideRepayLoan(b *testing.B) { benchDecide(b, lifeUntil(), repaid20k) }
func BenchmarkDecidePayInterestSubsidy(b *testing.B) {
	benchDecide(b, lifeUntil(), domain.PayInterestSubsidy{LoanID: "L1", Amount: yuan("2175"), FundID: "ES", PeriodEnd: d("2017-12-31")})
}
func BenchmarkDecideDeclareDefault(b *testing.B) { benchDecide(b, lifeUntil(repaid20k), defaulted) }
func BenchmarkDecideCompensateLoan(b *testing.B) {
	benchDecide(b, lifeUntil(repaid20k, defaulted), compensated)
}
func BenchmarkDecideRecoverLoan(b *testing.B) {
	benchDecide(b, lifeUntil(repaid20k, defaulted, compensated), recovered)
}
func BenchmarkDecideWriteOffLoan(b *testing.B) {
	benchDecide(b, lifeUntil(repaid20k, defaulted, compensated, recovered), writtenOff)
}
func BenchmarkDecideCloseLoan(b *testing.B) {
	benchDecide(b, lifeUntil(repaid20k, defaulted, compensated, recovered, writtenOff), domain.CloseLoan{LoanID: "L1", Date: d("2020-07-01")})
}
func BenchmarkDecideRecordPlacement(b *testing.B) { benchDecide(b, nil, jobJ1) }
func BenchmarkDecideEndPlacement(b *testing.B) {
	benchDecide(b, []domain.Command{jobJ1}, domain.EndPlacement{PlacementID: "J1", Date: d("2017-12-31"), Reason: "合同到期"})
}
func BenchmarkDecideReversePlacement(b *testing.B) {
	benchDecide(b, []domain.Command{jobJ1}, domain.ReversePlacement{PlacementID: "J1", Date: d("2017-12-31"), Reason: "误录"})
}
func BenchmarkDecideRecordTraining(b *testing.B) {
	benchDecide(b, nil, domain.RecordTraining{TrainingID: "T1", BeneficiaryID: "P1", CourseKind: domain.Vocational, RegionCode: "610902", Date: d("2017-09-01")})
}
func BenchmarkDecideSetTarget(b *testing.B) { benchDecide(b, nil, benchTarget) }
func BenchmarkDecideReportStatistic(b *testing.B) {
	benchDecide(b, nil, domain.ReportStatistic{RegionCode: "610900", Year: 2017, Indicator: domain.RegisteredUnemploymentRate, Value: yuan("3.2"), Date: d("2017-12-31")})
}
func BenchmarkDecideSetLoanPolicy(b *testing.B) {
	benchDecide(b, nil, domain.SetLoanPolicy{LoanPolicy: benchPolicy})
}

// BenchmarkReplay measures folding a log into a fresh Ledger with Evolve
// alone, the cost of a server's start-up catch-up per event.
func BenchmarkReplay(b *testing.B) {
	events := lifeEvents(b)
	for b.Loop() {
		l := domain.NewLedger()
		for _, e := range events {
			l.Evolve(e)
		}
	}
	b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
}
