package domain_test

import (
	"errors"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/shopspring/decimal"
)

// FuzzParseMoney: whatever the input, ParseMoney either refuses it with
// ErrMoneyFormat or returns a non-negative amount with at most 2 decimals
// whose canonical text parses back to the same amount.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"5000", "4560000.00", "0.01", "1e3", "NaN", "-1", "1.001", "", "9999999999999.99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := domain.ParseMoney(s)
		if err != nil {
			if !errors.Is(err, domain.ErrMoneyFormat) {
				t.Fatalf("ParseMoney(%q) got %v, want ErrMoneyFormat", s, err)
			}
			return
		}
		if !domain.IsMoney(m) {
			t.Fatalf("ParseMoney(%q) = %s, which is not money", s, m)
		}
		back, err := domain.ParseMoney(m.StringFixed(2))
		if err != nil || !back.Equal(m) {
			t.Fatalf("ParseMoney(%q) = %s does not round-trip: %v %v", s, m, back, err)
		}
		if exact, err := decimal.NewFromString(s); err != nil || !exact.Equal(m) {
			t.Fatalf("ParseMoney(%q) = %s, decimal says %v %v", s, m, exact, err)
		}
	})
}

// FuzzValidateIDNumber: an accepted number has 18 characters, 17 digits and a
// birth date that parses; any refusal is ErrIDNumber.
func FuzzValidateIDNumber(f *testing.F) {
	for _, s := range []string{idPoor, idPlain, "11010519491231002X", "610902199003071232", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := domain.ValidateIDNumber(s)
		if err != nil {
			if !errors.Is(err, domain.ErrIDNumber) {
				t.Fatalf("got %v, want ErrIDNumber", err)
			}
			return
		}
		n := domain.NormalizeIDNumber(s)
		if len(n) != 18 {
			t.Fatalf("accepted %q of length %d", s, len(n))
		}
		if _, err := domain.ParseDate(n[6:10] + "-" + n[10:12] + "-" + n[12:14]); err != nil {
			t.Fatalf("accepted %q with birth date %s", s, n[6:14])
		}
		// Changing any one of the 17 digits must break the checksum.
		for i := range 17 {
			mutated := []byte(n)
			mutated[i] = '0' + (mutated[i]-'0'+1)%10
			if domain.ValidateIDNumber(string(mutated)) == nil {
				t.Fatalf("accepted %q and its one-digit change %q", n, mutated)
			}
		}
	})
}

// FuzzValidateCreditCode: any refusal is ErrCreditCode, and an accepted code
// stops being accepted when one character changes.
func FuzzValidateCreditCode(f *testing.F) {
	for _, s := range []string{creditCodeE1, "91350100M000100Y43", "91610900MA70A1B2C8", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := domain.ValidateCreditCode(s)
		if err != nil {
			if !errors.Is(err, domain.ErrCreditCode) {
				t.Fatalf("got %v, want ErrCreditCode", err)
			}
			return
		}
		if len(s) < 18 {
			t.Fatalf("accepted %q, shorter than 18", s)
		}
	})
}
