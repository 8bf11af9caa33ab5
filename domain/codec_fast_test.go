package domain_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

// fastCases are events of the kinds with a fast decoder, in every shape
// Encode gives them; fast says whether their encoding is plain enough for
// the fast path (an escaped character or a list of partners is not).
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
	{"a placement with an indicator the vocabulary lacks", domain.PlacementRecorded{PlacementID: "P5", BeneficiaryID: "p5",
		Kind: domain.UrbanJob, RegionCode: "610902", Date: d("2026-02-03"), Indicators: []domain.Indicator{"not_an_indicator"}}, true},
	{"a placement whose employer needs an escape", domain.PlacementRecorded{PlacementID: "P4", BeneficiaryID: "p4",
		Kind: domain.UrbanJob, RegionCode: "610902", Date: d("2026-02-03"), Employer: `A&B "茶"`}, false},
	{"a subsidy in whole yuan", domain.SubsidyPaid{PaymentID: "S1", ProgramID: "JOBSEARCH", SubsidyType: domain.JobSearch,
		BeneficiaryID: "p1", FundID: "EMP", RegionCode: "610901", Amount: yuan("500"), Date: d("2026-03-01"), Document: "人社发〔2026〕8号"}, true},
	{"a subsidy in fen", domain.SubsidyPaid{PaymentID: "S2", ProgramID: "X", SubsidyType: domain.Transport, BeneficiaryID: "p1",
		FundID: "EMP", RegionCode: "610901", Amount: yuan("1234567890123.45"), Date: d("2026-03-01"), Document: "doc"}, true},
	{"a subsidy in ten-fen units", domain.SubsidyPaid{PaymentID: "S3", Amount: yuan("0.5"), Date: d("2026-03-01")}, true},
	{"a training", domain.TrainingRecorded{TrainingID: "T1", BeneficiaryID: "p1", CourseKind: domain.Entrepreneurship,
		RegionCode: "610902", Date: d("2017-09-01")}, true},
	{"a repayment", domain.LoanRepaid{LoanID: "L000001", Bank: "安康农商银行", Principal: yuan("10"), Interest: yuan("0.36"), Date: d("2026-04-01")}, true},
	{"a repayment of interest alone", domain.LoanRepaid{LoanID: "L1", Bank: "b", Principal: yuan("0"), Interest: yuan("12.5"), Date: d("2026-04-01")}, true},
	{"an interest subsidy", domain.InterestSubsidyPaid{LoanID: "L1", FundID: "ES", RegionCode: "610902", Amount: yuan("1000"),
		PeriodEnd: d("2018-12-31"), Document: "贴息"}, true},
	{"a loan to one person", domain.LoanIssued{LoanID: "L1", BorrowerID: "p1", BorrowerKind: domain.Individual, Bank: "安康农商银行",
		Principal: yuan("100000"), AnnualRate: yuan("0.0435"), TermMonths: 36, IssueDate: d("2017-03-01"), GuaranteeFundID: "G",
		RegionCode: "610902", PoorVillage: true, JobsCreated: 2}, true},
	{"a loan to partners", domain.LoanIssued{LoanID: "L2", BorrowerID: "p1", BorrowerKind: domain.Partnership, Partners: []string{"p2", "p3"},
		Bank: "b", Principal: yuan("300000"), AnnualRate: yuan("0.0435"), TermMonths: 24, IssueDate: d("2017-03-01"), GuaranteeFundID: "G",
		RegionCode: "610902", CounterGuaranteeWaived: true}, false},
	{"a loan closed", domain.LoanClosed{LoanID: "L1", Date: d("2020-07-01")}, true},
}

// TestFastDecodeEqualsJSON: the fast path takes what Encode writes and
// returns exactly what encoding/json returns, and Decode and DecodeWith do too.
func TestFastDecodeEqualsJSON(t *testing.T) {
	syms := domain.NewSymbols()
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
			sameAsJSON(t, eventType, data, syms)
		})
	}
}

// sameAsJSON checks that Decode, and DecodeWith through syms, return what
// encoding/json returns from data, errors included.
func sameAsJSON(t *testing.T, eventType string, data []byte, syms *domain.Symbols) {
	t.Helper()
	want, wantErr := domain.DecodeJSON(eventType, data)
	for _, s := range []*domain.Symbols{nil, syms} {
		got, err := domain.DecodeWith(eventType, data, s)
		if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s %s (shared values: %t): got %#v, %v; encoding/json %#v, %v", eventType, data, s != nil, got, err, want, wantErr)
		}
	}
}

// TestDecodeOfOddForms: whatever else encoding/json accepts or refuses,
// Decode accepts or refuses alike, whether the fast path reads it or not.
func TestDecodeOfOddForms(t *testing.T) {
	odd := []struct{ name, typ, data string }{
		{"an unknown field fails", domain.TypeSubsidyPaid, `{"payment_id":"p","amount":"5","extra":1}`},
		{"an escaped string is read", domain.TypeTrainingRecorded, `{"training_id":"a\"b","beneficiary_id":"b","course_kind":"vocational","region_code":"610900","date":"2017-01-01"}`},
		{"a null date is the zero date", domain.TypeTrainingRecorded, `{"training_id":"t","beneficiary_id":"b","course_kind":"vocational","region_code":"610900","date":null}`},
		{"an empty date is the zero date", domain.TypeLoanClosed, `{"loan_id":"L","date":""}`},
		{"three decimals are read exactly", domain.TypeSubsidyPaid, `{"payment_id":"p","amount":"5.123","date":"2017-01-01"}`},
		{"an unquoted amount is read", domain.TypeLoanRepaid, `{"loan_id":"L","bank":"B","principal":5,"interest":"0","date":"2017-01-01"}`},
		{"a key given twice keeps the last", domain.TypeLoanRepaid, `{"loan_id":"L","loan_id":"M","bank":"B","principal":"5","interest":"0","date":"2017-01-01"}`},
		{"a key in other case is read", domain.TypeLoanClosed, `{"Loan_ID":"L","date":"2017-01-01"}`},
		{"a null indicator list is nil", domain.TypePlacementRecorded, `{"placement_id":"P","beneficiary_id":"b","kind":"urban_job","region_code":"610900","date":"2017-01-01","indicators":null}`},
		{"spaces are allowed", domain.TypeInterestSubsidyPaid, ` { "loan_id" : "L" , "fund_id":"F","region_code":"6","amount":"12.5","period_end":"2017-03-31" } `},
		{"fields in another order are read", domain.TypeLoanRepaid, `{"date":"2017-01-01","interest":"0","principal":"5","bank":"B","loan_id":"L"}`},
		{"trailing data fails", domain.TypeLoanRepaid, `{"loan_id":"L","bank":"B","principal":"5","interest":"0","date":"2017-01-01"} {}`},
		{"an empty object with trailing data fails", domain.TypeTrainingRecorded, `{} {}`},
		{"an empty object is the zero event", domain.TypeLoanClosed, `{}`},
		{"a loan with partners is read", domain.TypeLoanIssued, `{"loan_id":"L","borrower_id":"B","borrower_kind":"individual","partners":["a"],"bank":"ABC","principal":"5","annual_rate":"0.0435","term_months":36,"issue_date":"2017-01-01","guarantee_fund_id":"G","region_code":"6","poor_village":true,"counter_guarantee_waived":false,"jobs_created":2}`},
		{"a rate with many places is read exactly", domain.TypeLoanIssued, `{"loan_id":"L","borrower_id":"B","borrower_kind":"individual","bank":"ABC","principal":"5.10","annual_rate":"0.04350000","term_months":36,"issue_date":"2017-01-01","guarantee_fund_id":"G","region_code":"6","poor_village":false,"counter_guarantee_waived":true,"jobs_created":0}`},
		{"a rate of three places is read", domain.TypeLoanIssued, `{"loan_id":"L","principal":"5","annual_rate":"0.125"}`},
		{"the same figure as an amount, shared from the rate, is read alike", domain.TypeSubsidyPaid, `{"payment_id":"p","amount":"0.125","date":"2017-01-01"}`},
		{"a term with a leading zero fails", domain.TypeLoanIssued, `{"loan_id":"L","principal":"5","annual_rate":"0.04","term_months":036}`},
		{"a negative term is read", domain.TypeLoanIssued, `{"loan_id":"L","principal":"5","annual_rate":"0.04","term_months":-3}`},
		{"a bad boolean fails", domain.TypeLoanIssued, `{"loan_id":"L","principal":"5","annual_rate":"0.04","poor_village":tru}`},
		{"an unknown date fails", domain.TypeLoanClosed, `{"loan_id":"L","date":"2017-02-30"}`},
		{"invalid utf-8 is replaced", domain.TypeTrainingRecorded, "{\"training_id\":\"\xff\",\"beneficiary_id\":\"b\",\"course_kind\":\"vocational\",\"region_code\":\"610900\",\"date\":\"2017-01-01\"}"},
	}
	syms := domain.NewSymbols()
	for _, tt := range odd {
		t.Run(tt.name, func(t *testing.T) { sameAsJSON(t, tt.typ, []byte(tt.data), syms) })
	}
}

// TestDecodeOfWholeLogs: every event of the fixture's life and of random
// command sequences decodes as encoding/json decodes it, with one table of
// shared values across all of them, as a projection's worker uses it.
func TestDecodeOfWholeLogs(t *testing.T) {
	syms := domain.NewSymbols()
	events := lifeEvents(t)
	for _, seed := range []uint64{firstSeed, firstSeed + 1, firstSeed + 2} {
		events = append(events, randomLog(t, seed, 2000)...)
	}
	for _, e := range events {
		eventType, data, err := domain.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		sameAsJSON(t, eventType, data, syms)
	}
}

// randomLog returns the events of steps random commands after the world fixture.
func randomLog(t testing.TB, seed uint64, steps int) []domain.Event {
	l := given(t)
	g := &generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), day: domain.MustDate("2017-02-01"), ledger: l}
	var history []domain.Event
	for range steps {
		events, err := l.Decide(g.command())
		if err != nil {
			continue
		}
		for _, e := range events {
			l.Evolve(e)
		}
		history = append(history, events...)
	}
	return history
}

// FuzzFastDecode: whatever the bytes, when the fast path decodes an event,
// encoding/json decodes the same event from them; and Decode agrees with
// encoding/json on every input, errors included, with or without shared
// values (decoded twice, so that the second reads them from the table).
func FuzzFastDecode(f *testing.F) {
	types := domain.FastDecodedTypes()
	index := map[string]uint8{}
	for i, t := range types {
		index[t] = uint8(i)
	}
	for _, tc := range fastCases {
		eventType, data, err := domain.Encode(tc.event)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(index[eventType], data)
	}
	f.Add(index[domain.TypePlacementRecorded], []byte(`{"placement_id":"P1","beneficiary_id":"p","kind":"urban_job","region_code":"6","date":null,"indicators":null} `))
	f.Add(index[domain.TypeLoanRepaid], []byte(`{"loan_id":"L","bank":"b","principal":10,"interest":"0.","date":""}`))
	f.Add(index[domain.TypeSubsidyPaid], []byte(`{"payment_id":"S","program_id":"X","subsidy_type":"t","beneficiary_id":"p","fund_id":"F","region_code":"r","amount":"0500.10","date":"2026-02-30","document":"\xff"}`))
	f.Add(index[domain.TypeLoanIssued], []byte(`{ "term_months" : 036 , "poor_village":true,"principal":"5","annual_rate":"0.040"}`))
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
		syms := domain.NewSymbols()
		for range 2 {
			sameAsJSON(t, eventType, data, syms)
		}
	})
}

// encodedLog is a random log as its wire names and bodies, for the benchmarks.
func encodedLog(b *testing.B) (types []string, bodies [][]byte) {
	for _, e := range randomLog(b, firstSeed, 2000) {
		eventType, data, err := domain.Encode(e)
		if err != nil {
			b.Fatal(err)
		}
		types, bodies = append(types, eventType), append(bodies, data)
	}
	return types, bodies
}

// BenchmarkDecode decodes a random log with Decode, sharing nothing.
func BenchmarkDecode(b *testing.B) { benchDecode(b, nil) }

// BenchmarkDecodeWithSymbols decodes a random log through one table of shared values.
func BenchmarkDecodeWithSymbols(b *testing.B) { benchDecode(b, domain.NewSymbols()) }

func benchDecode(b *testing.B, syms *domain.Symbols) {
	types, bodies := encodedLog(b)
	for b.Loop() {
		for i := range types {
			if _, err := domain.DecodeWith(types[i], bodies[i], syms); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(types)), "ns/event")
}
