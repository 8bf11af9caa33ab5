package projections

import (
	"bytes"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

// sameAsDomain checks that lean decoding gives what domain.Decode gives,
// compared through the domain's own encoding.
func sameAsDomain(t *testing.T, eventType string, data []byte) {
	t.Helper()
	lean, leanErr := leanDecode(eventType, data)
	if ignored[eventType] || notBusiness(eventType) {
		if lean != nil || leanErr != nil {
			t.Errorf("got %v, %v for an ignored type, want nothing", lean, leanErr)
		}
		return
	}
	want, wantErr := domain.Decode(eventType, data)
	if (leanErr != nil) != (wantErr != nil) {
		t.Fatalf("%s %s: got error %v, want %v", eventType, data, leanErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	_, got, _ := domain.Encode(lean)
	_, exp, _ := domain.Encode(want)
	if !bytes.Equal(got, exp) {
		t.Errorf("%s %s:\ngot  %s\nwant %s", eventType, data, got, exp)
	}
}

func TestLeanDecodeEqualsDomain(t *testing.T) {
	t.Run("every event of a realistic log decodes as the domain decodes it", func(t *testing.T) {
		generateLog(20000, 3, func(evs []domain.Event) {
			for _, e := range evs {
				typ, data, err := domain.Encode(e)
				if err != nil {
					t.Fatal(err)
				}
				sameAsDomain(t, typ, data)
			}
		})
	})
	odd := []struct{ name, typ, data string }{
		{"an unknown field falls back and fails", domain.TypeSubsidyPaid, `{"payment_id":"p","amount":"5","extra":1}`},
		{"an escaped string falls back", domain.TypeTrainingRecorded, `{"training_id":"a\"b","beneficiary_id":"b","course_kind":"vocational","region_code":"610900","date":"2017-01-01"}`},
		{"a null date falls back", domain.TypeTrainingRecorded, `{"training_id":"t","beneficiary_id":"b","course_kind":"vocational","region_code":"610900","date":null}`},
		{"three decimals fall back", domain.TypeSubsidyPaid, `{"payment_id":"p","amount":"5.123","date":"2017-01-01"}`},
		{"an unquoted amount falls back", domain.TypeLoanRepaid, `{"loan_id":"L","bank":"B","principal":5,"interest":"0","date":"2017-01-01"}`},
		{"a key given twice falls back", domain.TypeLoanRepaid, `{"loan_id":"L","loan_id":"M","bank":"B","principal":"5","interest":"0","date":"2017-01-01"}`},
		{"a null indicator list falls back", domain.TypePlacementRecorded, `{"placement_id":"P","beneficiary_id":"b","kind":"urban_job","region_code":"610900","date":"2017-01-01","indicators":null}`},
		{"spaces are allowed", domain.TypeInterestSubsidyPaid, ` { "loan_id" : "L" , "fund_id":"F","region_code":"6","amount":"12.5","period_end":"2017-03-31" } `},
		{"trailing data fails", domain.TypeLoanRepaid, `{"loan_id":"L","bank":"B","principal":"5","interest":"0","date":"2017-01-01"} {}`},
		{"invalid utf-8 falls back", domain.TypeTrainingRecorded, "{\"training_id\":\"\xff\",\"beneficiary_id\":\"b\",\"course_kind\":\"vocational\",\"region_code\":\"610900\",\"date\":\"2017-01-01\"}"},
	}
	for _, tt := range odd {
		t.Run(tt.name, func(t *testing.T) { sameAsDomain(t, tt.typ, []byte(tt.data)) })
	}
}

func FuzzLeanDecode(f *testing.F) {
	generateLog(300, 4, func(evs []domain.Event) {
		for _, e := range evs {
			typ, data, _ := domain.Encode(e)
			f.Add(typ, data)
		}
	})
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		sameAsDomain(t, typ, data)
	})
}
