package projections

import (
	"fmt"
	"strconv"

	"github.com/shopspring/decimal"
)

// The views keep money as int64 fen (1/100 yuan): the domain allows at most
// 2 decimal places and amounts below 10^15 yuan, so fen fit an int64 exactly
// and sums of a whole log stay far from overflow. Integer fen make a rebuild
// of a million events cheap; every figure leaves the package as a decimal string.

// pow10 holds the powers of ten that scale a coefficient to fen.
var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// fen converts a domain amount to fen. It panics on an amount with more than
// 2 decimal places: the domain refuses those, so one in the log is a
// programmer error, not a business refusal.
func fen(d decimal.Decimal) int64 {
	exp := int(d.Exponent())
	switch {
	case exp == -2:
		return d.CoefficientInt64()
	case exp > -2 && exp+2 < len(pow10):
		return d.CoefficientInt64() * pow10[exp+2]
	}
	f := d.Shift(2)
	assert(f.Equal(f.Truncate(0)), "amount with more than 2 decimal places in the log")
	return f.IntPart()
}

// formatFen formats fen as a decimal string with 2 decimal places.
func formatFen(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// formatTenths formats tenths (of a percent) with one decimal place.
func formatTenths(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return sign + strconv.FormatInt(v/10, 10) + "." + strconv.FormatInt(v%10, 10)
}

// ratioTenths returns round_half_up(num / den * 1000), i.e. the percent
// num/den*100 in tenths, exactly (no floating point, no double rounding);
// ok is false when den is not positive or num is negative.
func ratioTenths(num, den decimal.Decimal) (int64, bool) {
	if !den.IsPositive() || num.IsNegative() {
		return 0, false
	}
	q, r := num.Mul(decimal.NewFromInt(1000)).QuoRem(den, 0)
	if r.Mul(decimal.NewFromInt(2)).GreaterThanOrEqual(den) {
		q = q.Add(decimal.NewFromInt(1))
	}
	return q.IntPart(), true
}

// percent formats num/den*100 with one decimal place, nil when undefined.
func percent(num, den decimal.Decimal) *string {
	t, ok := ratioTenths(num, den)
	if !ok {
		return nil
	}
	s := formatTenths(t)
	return &s
}

// fenDecimal converts fen back to a decimal for exact ratios.
func fenDecimal(v int64) decimal.Decimal { return decimal.New(v, -2) }

// plainDecimal formats a reported figure as written (3.20 stays "3.20").
func plainDecimal(d decimal.Decimal) string {
	if exp := d.Exponent(); exp < 0 {
		return d.StringFixed(-exp)
	}
	return d.String()
}

// assert panics on a programmer error: a state the code must never reach.
func assert(ok bool, msg string) {
	if !ok {
		panic("projections: " + msg)
	}
}
