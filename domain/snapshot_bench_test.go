package domain_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

// benchSnapshotRows is how many placements and as many payments the
// snapshot benchmarks hold: the two tables that dominate a province's state.
const benchSnapshotRows = 200_000

// bulkLedger returns the world with rows placements and rows payments.
func bulkLedger(b *testing.B, rows int) *domain.Ledger {
	l := given(b)
	l.Evolve(domain.FundAllocated{FundID: "ES", Amount: yuan("1000000000"), Date: d("2017-01-02"), Document: "doc"})
	for i := range rows {
		l.Evolve(domain.PlacementRecorded{PlacementID: fmt.Sprintf("J%07d", i), BeneficiaryID: "P3", Kind: domain.UrbanJob,
			RegionCode: "610902", Date: d("2017-05-01"), Indicators: []domain.Indicator{domain.NewUrbanJobs}})
		l.Evolve(domain.SubsidyPaid{PaymentID: fmt.Sprintf("PAY%07d", i), ProgramID: "POST", SubsidyType: domain.PublicWelfarePost,
			BeneficiaryID: "P2", FundID: "ES", RegionCode: "610922101201", Amount: yuan("800"), Date: d("2017-06-01"), Document: "doc"})
	}
	return l
}

// BenchmarkSnapshotWrite measures WriteTo.
func BenchmarkSnapshotWrite(b *testing.B) {
	l := bulkLedger(b, benchSnapshotRows)
	var size int64
	for b.Loop() {
		n, err := l.WriteTo(io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	b.ReportMetric(float64(2*benchSnapshotRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(size)/float64(2*benchSnapshotRows), "bytes/row")
}

// BenchmarkSnapshotRead measures ReadLedger of the same state.
func BenchmarkSnapshotRead(b *testing.B) {
	var buf bytes.Buffer
	if _, err := bulkLedger(b, benchSnapshotRows).WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	encoded := buf.Bytes()
	for b.Loop() {
		if _, err := domain.ReadLedger(bytes.NewReader(encoded)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(2*benchSnapshotRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
