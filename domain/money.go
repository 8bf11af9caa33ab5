package domain

import "github.com/shopspring/decimal"

// Money is an amount in CNY: a decimal with at most 2 decimal places (fen).
// It is an alias so that callers use decimal.Decimal directly; never float64.
type Money = decimal.Decimal

// Limits on amounts.
const (
	// moneyScale is the number of decimal places CNY has (fen).
	moneyScale = 2
	// maxMoneyIntegerDigits bounds amounts to below 10^15 yuan, far above any
	// budget, so that a typo of many zeros is refused as malformed.
	maxMoneyIntegerDigits = 15
)

// ParseMoney parses a non-negative CNY amount written as plain decimal digits
// with at most 2 decimal places ("5000", "4560000.00", "0.5"). It refuses
// signs, exponents, NaN, spaces, empty strings and more than 2 decimals, with
// an *Error of rule ErrMoneyFormat.
func ParseMoney(s string) (Money, error) {
	if !moneySyntax(s) {
		return decimal.Zero, fail(ErrMoneyFormat, "", "%q", s)
	}
	amount, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, fail(ErrMoneyFormat, "", "%q", s)
	}
	return amount, nil
}

// moneySyntax accepts DIGITS or DIGITS.DIGITS with 1 or 2 fraction digits.
func moneySyntax(s string) bool {
	intPart, fraction, hasPoint := cut(s, '.')
	if len(intPart) == 0 || len(intPart) > maxMoneyIntegerDigits || !allDigits(intPart) {
		return false
	}
	if !hasPoint {
		return true
	}
	return len(fraction) >= 1 && len(fraction) <= moneyScale && allDigits(fraction)
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsMoney reports whether m is a valid non-negative CNY amount: at most 2
// decimal places and within the size limit. Decide checks every amount of a
// command with it, because commands may be built without ParseMoney.
func IsMoney(m Money) bool {
	if m.IsNegative() || !m.Equal(m.Truncate(moneyScale)) {
		return false
	}
	return len(m.Truncate(0).String()) <= maxMoneyIntegerDigits
}

// checkAmount refuses an amount that is malformed, or not positive.
func checkAmount(field string, m Money) *Error {
	if !IsMoney(m) {
		return fail(ErrMoneyFormat, field, "%s", m.String())
	}
	if !m.IsPositive() {
		return fail(ErrAmountNotPositive, field, "%s", m.String())
	}
	return nil
}

// checkAmountOrZero refuses an amount that is malformed; zero is allowed.
func checkAmountOrZero(field string, m Money) *Error {
	if !IsMoney(m) {
		return fail(ErrMoneyFormat, field, "%s", m.String())
	}
	return nil
}
