package domain_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/domain"
)

func TestParseMoney(t *testing.T) {
	accepted := map[string]string{"5000": "5000", "4560000.00": "4560000", "0.5": "0.5", "0": "0", "0.01": "0.01", "007": "7"}
	for in, want := range accepted {
		t.Run("accepts "+in, func(t *testing.T) {
			got, err := domain.ParseMoney(in)
			if err != nil {
				t.Fatalf("got error %v, want %s", err, want)
			}
			if got.String() != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
	refused := []string{"", " ", "-1", "+1", "1e3", "1E3", "NaN", "Inf", "1.001", "1.", ".5", "1,000", "1 000", "0x10", "１２", "1234567890123456"}
	for _, in := range refused {
		t.Run("refuses "+in, func(t *testing.T) {
			_, err := domain.ParseMoney(in)
			if !errors.Is(err, domain.ErrMoneyFormat) || domain.ClassOf(err) != domain.Invalid {
				t.Errorf("got %v, want ErrMoneyFormat of class invalid", err)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	for _, in := range []string{"2017-03-01", "2020-02-29", "1900-01-01"} {
		got, err := domain.ParseDate(in)
		if err != nil || got.String() != in {
			t.Errorf("ParseDate(%q) got %v, %v; want the same date back", in, got, err)
		}
	}
	for _, in := range []string{"", "2017-3-1", "2017/03/01", "2019-02-29", "2017-13-01", "2017-00-10", "17-03-01x", "1899-12-31", "2017-03-01T00:00:00Z"} {
		if _, err := domain.ParseDate(in); !errors.Is(err, domain.ErrDateFormat) {
			t.Errorf("ParseDate(%q) got %v, want ErrDateFormat", in, err)
		}
	}
}

// TestMonthLengthsAgreeWithTheCalendar checks the arithmetic month lengths
// against the time package for every month of the years a Date may hold.
func TestMonthLengthsAgreeWithTheCalendar(t *testing.T) {
	for y := 1900; y <= 2999; y++ {
		for m := 1; m <= 12; m++ {
			last := time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
			if _, ok := domain.NewDate(y, m, last); !ok {
				t.Fatalf("NewDate(%d, %d, %d) refused the month's last day", y, m, last)
			}
			if _, ok := domain.NewDate(y, m, last+1); ok {
				t.Fatalf("NewDate(%d, %d, %d) accepted a day after the month's end", y, m, last+1)
			}
		}
	}
}

func TestDateJSONAndOrder(t *testing.T) {
	type holder struct {
		From domain.Date `json:"from"`
		To   domain.Date `json:"to"`
	}
	b, err := json.Marshal(holder{From: d("2017-03-01")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"from":"2017-03-01","to":null}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	var back holder
	if err := json.Unmarshal([]byte(`{"from":"2017-03-01","to":""}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.From != d("2017-03-01") || !back.To.IsZero() {
		t.Errorf("got %+v, want from 2017-03-01 and no end", back)
	}
	if err := json.Unmarshal([]byte(`{"from":"2017-02-30"}`), &back); !errors.Is(err, domain.ErrDateFormat) {
		t.Errorf("got %v, want ErrDateFormat", err)
	}
	if !d("2017-12-31").Before(d("2018-01-01")) || d("2018-01-01").Compare(d("2017-12-31")) != 1 || d("2018-01-01").Year() != 2018 {
		t.Error("dates do not order as the calendar does")
	}
}

func TestValidateIDNumber(t *testing.T) {
	for _, id := range []string{idPoor, idPlain, idHard, "11010519491231002X", "11010519491231002x"} {
		if err := domain.ValidateIDNumber(id); err != nil {
			t.Errorf("ValidateIDNumber(%q) got %v, want nil", id, err)
		}
	}
	for _, id := range []string{"", "610902199003071232", "61090219900307123", "6109021990030712311", "610902199013071231",
		"A10902199003071231", "010902199003071230", "61090219900307123Y"} {
		err := domain.ValidateIDNumber(id)
		var de *domain.Error
		if !errors.As(err, &de) || !errors.Is(err, domain.ErrIDNumber) || de.Field != "id_number" {
			t.Errorf("ValidateIDNumber(%q) got %v, want ErrIDNumber on id_number", id, err)
		}
	}
}

func TestValidateCreditCode(t *testing.T) {
	for _, code := range []string{creditCodeE1, "91350100M000100Y43", "91110000600037341L"} {
		if err := domain.ValidateCreditCode(code); err != nil {
			t.Errorf("ValidateCreditCode(%q) got %v, want nil", code, err)
		}
	}
	for _, code := range []string{"", "91610900MA70A1B2C8", "91610900MA70A1B2C", "9161O900MA70A1B2C7", "91610900MA70I1B2C7"} {
		if err := domain.ValidateCreditCode(code); !errors.Is(err, domain.ErrCreditCode) {
			t.Errorf("ValidateCreditCode(%q) got %v, want ErrCreditCode", code, err)
		}
	}
}

func TestValidateRegionCode(t *testing.T) {
	for _, code := range []string{"610000", "610922101", "610922101201"} {
		if err := domain.ValidateRegionCode(code); err != nil {
			t.Errorf("ValidateRegionCode(%q) got %v, want nil", code, err)
		}
	}
	for _, code := range []string{"", "61", "6109221", "61092210120", "61092A", "6109221012011"} {
		if err := domain.ValidateRegionCode(code); !errors.Is(err, domain.ErrRegionCodeFormat) {
			t.Errorf("ValidateRegionCode(%q) got %v, want ErrRegionCodeFormat", code, err)
		}
	}
}

func TestPseudonymIsStableKeyedAndNormalized(t *testing.T) {
	key := []byte("k1")
	a := domain.Pseudonym(key, "11010519491231002X")
	if got := domain.Pseudonym(key, " 11010519491231002x "); got != a {
		t.Errorf("got %s for the lower-case form, want %s", got, a)
	}
	if got := domain.Pseudonym([]byte("k2"), "11010519491231002X"); got == a {
		t.Error("got the same pseudonym under another key, want a different one")
	}
	if len(a) != 64 || strings.Contains(a, "110105") {
		t.Errorf("got %q, want 64 hex characters that do not reveal the number", a)
	}
}

func TestErrorIsAndAs(t *testing.T) {
	l := given(t)
	_, err := l.Decide(pay("PAY1", "POST", "P2", "EMPTY", "1", "2017-06-01"))
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("got %T, want *domain.Error", err)
	}
	if got, want := de.Class, domain.Conflict; got != want {
		t.Errorf("got class %v, want %v", got, want)
	}
	if !errors.Is(err, domain.ErrFundOverdrawn) || errors.Is(err, domain.ErrExceedsOwed) {
		t.Errorf("errors.Is does not single out the rule: %v", err)
	}
	if !strings.Contains(err.Error(), "amount") {
		t.Errorf("got message %q, want it to name the field", err.Error())
	}
}

func TestCodecRoundTripsEveryEventOfALife(t *testing.T) {
	events := lifeEvents(t)
	seen := map[string]bool{}
	for _, e := range events {
		eventType, data, err := domain.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := domain.Decode(eventType, data)
		if err != nil {
			t.Fatalf("decode %s: %v", eventType, err)
		}
		if got, want := jsonOf(t, []domain.Event{back}), jsonOf(t, []domain.Event{e}); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
		seen[eventType] = true
	}
	for _, eventType := range domain.EventTypes() {
		if !seen[eventType] {
			t.Errorf("event type %s is not exercised by the life", eventType)
		}
	}
}

func TestDecodeRefusesUnknownTypesAndFields(t *testing.T) {
	if _, err := domain.Decode("loan.issued.v9", []byte(`{}`)); err == nil {
		t.Error("got nil, want an error for an unknown type")
	}
	if _, err := domain.Decode(domain.TypeLoanClosed, []byte(`{"loan_id":"L1","date":"2020-01-01","extra":1}`)); err == nil {
		t.Error("got nil, want an error for an unknown field")
	}
	if _, err := domain.Decode(domain.TypeLoanClosed, []byte(`{"loan_id":"L1","date":"2020-13-01"}`)); err == nil {
		t.Error("got nil, want an error for a bad date")
	}
}

func TestMoneyIsADecimalStringInJSON(t *testing.T) {
	_, data, err := domain.Encode(domain.FundAllocated{FundID: "ES", RegionCode: "610900", Amount: yuan("4560000.50"), Date: d("2017-01-01"), Document: "doc"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"amount":"4560000.5"`) {
		t.Errorf("got %s, want the amount as a decimal string", data)
	}
}

// lifeEvents decides and evolves commands covering every event type once at least.
func lifeEvents(t testing.TB) []domain.Event {
	l := domain.NewLedger()
	commands := append(world(),
		domain.CertifyCategory{BeneficiaryID: "P2", Category: domain.Veteran, From: d("2017-01-01"), Document: "退役证"},
		pay("PAY1", "STARTUP", "P1", "ES", "5000", "2017-06-01"),
		reverse("PAY1", "1000", "2017-06-02"),
		issue(nil), repaid20k,
		domain.PayInterestSubsidy{LoanID: "L1", Amount: yuan("1000"), FundID: "ES", PeriodEnd: d("2018-12-31")},
		defaulted, compensated, recovered, writtenOff,
		domain.CloseLoan{LoanID: "L1", Date: d("2020-07-01")},
		place("J1", "P3", domain.UrbanJob, "2017-05-01"),
		domain.EndPlacement{PlacementID: "J1", Date: d("2017-12-31"), Reason: "合同到期"},
		domain.ReversePlacement{PlacementID: "J1", Date: d("2018-01-31"), Reason: "重复录入"},
		domain.RecordTraining{TrainingID: "T1", BeneficiaryID: "P1", CourseKind: domain.Entrepreneurship, RegionCode: "610902", Date: d("2017-09-01")},
		domain.SetTarget{RegionCode: "610900", Year: 2017, Indicator: domain.NewUrbanJobs, Issuer: domain.Province, Value: yuan("16000"), Direction: domain.Floor, Date: d("2017-01-10")},
		domain.ReportStatistic{RegionCode: "610900", Year: 2017, Indicator: domain.RegisteredUnemploymentRate, Value: yuan("3.20"), Date: d("2017-12-31")},
		domain.SetLoanPolicy{LoanPolicy: domain.LoanPolicy{EffectiveFrom: d("2021-01-01"), IndividualMax: yuan("300000"), PartnerShare: yuan("1.1"), EnterpriseMax: yuan("3000000")}},
		checkpointAt(1, testRoot, "2017-03-01"),
		domain.RequestApproval{RequestID: "A1", Maker: "officer-wang", Command: pay("PAY2", "POST", "P1", "ES", "800", "2017-07-01")},
		domain.ApproveRequest{RequestID: "A1", Approver: "approver-li", Reason: "核对无误"},
		domain.RequestApproval{RequestID: "A2", Maker: "officer-wang", Command: reverse("PAY2", "100", "2017-07-02")},
		domain.RejectRequest{RequestID: "A2", Approver: "approver-li", Reason: "依据不足"},
		domain.RecordRead{Reader: "auditor-zhao", Role: "auditor", Path: "/v1/history", Query: "account=beneficiary:P1",
			Subject: "beneficiary:P1", Time: time.Date(2017, 7, 3, 9, 0, 0, 0, time.UTC)},
	)
	var all []domain.Event
	for _, c := range commands {
		events, err := l.Decide(c)
		if err != nil {
			t.Fatalf("%T: %v", c, err)
		}
		for _, e := range events {
			l.Evolve(e)
		}
		all = append(all, events...)
	}
	return all
}
