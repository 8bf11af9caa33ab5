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
	sameAsDomainWith(t, eventType, data, nil)
}

// sameAsDomainWith is sameAsDomain with values shared through syms.
func sameAsDomainWith(t *testing.T, eventType string, data []byte, syms *symbols) {
	t.Helper()
	lean, leanErr := leanDecodeWith(eventType, data, syms)
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
	t.Run("sharing repeated values between events changes no event", func(t *testing.T) {
		syms := newSymbols()
		generateLog(20000, 3, func(evs []domain.Event) {
			for _, e := range evs {
				typ, data, err := domain.Encode(e)
				if err != nil {
					t.Fatal(err)
				}
				sameAsDomainWith(t, typ, data, syms)
			}
		})
		for _, evs := range randomHistory(8, 2000) {
			for _, e := range evs {
				typ, data, _ := domain.Encode(e)
				sameAsDomainWith(t, typ, data, syms)
			}
		}
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
		{"a loan with partners falls back", domain.TypeLoanIssued, `{"loan_id":"L","borrower_id":"B","borrower_kind":"individual","partners":["a"],"bank":"ABC","principal":"5","annual_rate":"0.0435","term_months":36,"issue_date":"2017-01-01","guarantee_fund_id":"G","region_code":"6","poor_village":true,"counter_guarantee_waived":false,"jobs_created":2}`},
		{"a rate with many places is read exactly", domain.TypeLoanIssued, `{"loan_id":"L","borrower_id":"B","borrower_kind":"individual","bank":"ABC","principal":"5.10","annual_rate":"0.04350000","term_months":36,"issue_date":"2017-01-01","guarantee_fund_id":"G","region_code":"6","poor_village":false,"counter_guarantee_waived":true,"jobs_created":0}`},
		{"a bad boolean falls back and fails", domain.TypeLoanIssued, `{"loan_id":"L","principal":"5","annual_rate":"0.04","poor_village":tru}`},
		{"an unknown date falls back and fails", domain.TypeLoanClosed, `{"loan_id":"L","date":"2017-02-30"}`},
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
