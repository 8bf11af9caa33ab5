package domain_test

import (
	"reflect"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

// fastCases are events of the kinds with a fast decoder, in every shape
// Encode gives them; fast says whether their encoding is canonical enough
// for the fast path (an escaped character is not).
var fastCases = []struct {
	name  string
	event domain.Event
	fast  bool
}{
	{"a placement with indicators and no employer", domain.PlacementRecorded{PlacementID: "P1", BeneficiaryID: "p0000001",
		Kind: domain.UrbanJob, RegionCode: "610902", Date: d("2026-02-03"), Indicators: []domain.Indicator{domain.NewUrbanJobs, domain.HardToEmployPlaced}}, true},
	{"a placement counting for nothing", domain.PlacementRecorded{PlacementID: "P2", BeneficiaryID: "p2", Kind: domain.UrbanJob,
		RegionCode: "610902", Date: d("2026-02-03"), Employer: "安康富硒茶业"}, true},
	{"a placement with an empty list of indicators", domain.PlacementRecorded{PlacementID: "P3", BeneficiaryID: "p3",
		Kind: domain.RuralTransfer, RegionCode: "610902", Indicators: []domain.Indicator{}}, true},
	{"a placement whose employer needs an escape", domain.PlacementRecorded{PlacementID: "P4", BeneficiaryID: "p4",
		Kind: domain.UrbanJob, RegionCode: "610902", Date: d("2026-02-03"), Employer: `A&B "茶"`}, false},
	{"a subsidy in whole yuan", domain.SubsidyPaid{PaymentID: "S1", ProgramID: "JOBSEARCH", SubsidyType: domain.JobSearch,
		BeneficiaryID: "p1", FundID: "EMP", RegionCode: "610901", Amount: yuan("500"), Date: d("2026-03-01"), Document: "人社发〔2026〕8号"}, true},
	{"a subsidy in fen", domain.SubsidyPaid{PaymentID: "S2", ProgramID: "X", SubsidyType: domain.Transport, BeneficiaryID: "p1",
		FundID: "EMP", RegionCode: "610901", Amount: yuan("1234567890123.45"), Date: d("2026-03-01"), Document: "doc"}, true},
	{"a subsidy in ten-fen units", domain.SubsidyPaid{PaymentID: "S3", Amount: yuan("0.5"), Date: d("2026-03-01")}, true},
	{"a repayment", domain.LoanRepaid{LoanID: "L000001", Bank: "安康农商银行", Principal: yuan("10"), Interest: yuan("0.36"), Date: d("2026-04-01")}, true},
	{"a repayment of interest alone", domain.LoanRepaid{LoanID: "L1", Bank: "b", Principal: yuan("0"), Interest: yuan("12.5"), Date: d("2026-04-01")}, true},
}

// TestFastDecodeEqualsJSON: the fast path takes what Encode writes and
// returns exactly what encoding/json returns, and Decode does too.
func TestFastDecodeEqualsJSON(t *testing.T) {
	for _, tc := range fastCases {
		t.Run(tc.name, func(t *testing.T) {
			eventType, data, err := domain.Encode(tc.event)
			if err != nil {
				t.Fatal(err)
			}
			want, err := domain.DecodeJSON(eventType, data)
			if err != nil {
				t.Fatal(err)
			}
			fast, ok := domain.DecodeFast(eventType, data)
			if ok != tc.fast {
				t.Fatalf("fast path taken: got %t, want %t for %s", ok, tc.fast, data)
			}
			if ok && !reflect.DeepEqual(fast, want) {
				t.Fatalf("fast path got %#v, want %#v", fast, want)
			}
			if got, err := domain.Decode(eventType, data); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("Decode got %#v, %v, want %#v", got, err, want)
			}
		})
	}
}

// FuzzFastDecode: whatever the bytes, when the fast path decodes an event,
// encoding/json decodes the same event from them; and Decode agrees with
// encoding/json on every input, errors included.
func FuzzFastDecode(f *testing.F) {
	types := domain.FastDecodedTypes()
	for _, tc := range fastCases {
		eventType, data, err := domain.Encode(tc.event)
		if err != nil {
			f.Fatal(err)
		}
		for i, t := range types {
			if t == eventType {
				f.Add(uint8(i), data)
			}
		}
	}
	f.Add(uint8(0), []byte(`{"placement_id":"P1","beneficiary_id":"p","kind":"urban_job","region_code":"6","date":null,"indicators":null} `))
	f.Add(uint8(1), []byte(`{"loan_id":"L","bank":"b","principal":10,"interest":"0.","date":""}`))
	f.Add(uint8(2), []byte(`{"payment_id":"S","program_id":"X","subsidy_type":"t","beneficiary_id":"p","fund_id":"F","region_code":"r","amount":"0500.10","date":"2026-02-30","document":"\xff"}`))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		eventType := types[int(which)%len(types)]
		want, wantErr := domain.DecodeJSON(eventType, data)
		if fast, ok := domain.DecodeFast(eventType, data); ok {
			if wantErr != nil {
				t.Fatalf("fast path decoded %s, encoding/json refused it: %v", data, wantErr)
			}
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("fast path got %#v, encoding/json %#v from %s", fast, want, data)
			}
		}
		got, err := domain.Decode(eventType, data)
		if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("Decode got %#v, %v; encoding/json %#v, %v", got, err, want, wantErr)
		}
	})
}
