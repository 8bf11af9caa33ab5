package domain

import (
	"bytes"
	"cmp"
	"fmt"
	"time"
)

// Date is a civil date (no time, no zone): the business date of an event.
// The zero Date means "no date" (an open-ended certification, an unset field);
// it encodes as JSON null.
type Date struct {
	year  int16
	month uint8
	day   uint8
}

// Limits on the years a Date may hold, so that every date has four digits.
const (
	minDateYear = 1900
	maxDateYear = 2999
)

// NewDate returns the date y-m-d; ok is false when it is not a calendar date
// in the years the ledger accepts.
func NewDate(y, m, d int) (Date, bool) {
	if y < minDateYear || y > maxDateYear || m < 1 || m > 12 || d < 1 {
		return Date{}, false
	}
	if d > daysIn(y, m) {
		return Date{}, false
	}
	return Date{year: int16(y), month: uint8(m), day: uint8(d)}, true
}

// MustDate is NewDate for constants in tests and examples; it panics on a bad date.
func MustDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// daysIn is the length of month m of year y in the Gregorian calendar,
// by arithmetic rather than through time.Date: a rebuild parses a date per event.
func daysIn(y, m int) int {
	switch {
	case m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0):
		return 29
	case m == 2:
		return 28
	case m == 4 || m == 6 || m == 9 || m == 11:
		return 30
	}
	return 31
}

// ParseDate parses "YYYY-MM-DD" strictly (two-digit month and day).
func ParseDate(s string) (Date, error) {
	date, form, ok := parseDate(s)
	switch {
	case !form:
		return Date{}, fail(ErrDateFormat, "", "%q", s)
	case !ok:
		return Date{}, fail(ErrDateFormat, "", "%q is not a calendar date", s)
	}
	return date, nil
}

// parseDate is ParseDate without an error to build: form reports whether s
// is written YYYY-MM-DD, ok whether it is also a calendar date.
func parseDate(s string) (date Date, form, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, false, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, false, false
	}
	date, ok = NewDate(y, m, d)
	return date, true, ok
}

// digits parses a run of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

// IsZero reports whether d is the zero Date ("no date").
func (d Date) IsZero() bool { return d == Date{} }

// Year returns the year.
func (d Date) Year() int { return int(d.year) }

// Month returns the month, 1 to 12.
func (d Date) Month() int { return int(d.month) }

// Day returns the day of the month.
func (d Date) Day() int { return int(d.day) }

// String formats the date as YYYY-MM-DD, and the zero Date as "".
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.year, d.month, d.day)
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	return cmp.Compare(d.key(), e.key())
}

func (d Date) key() int { return int(d.year)*10000 + int(d.month)*100 + int(d.day) }

// Before reports whether d is strictly before e.
func (d Date) Before(e Date) bool { return d.key() < e.key() }

// After reports whether d is strictly after e.
func (d Date) After(e Date) bool { return d.key() > e.key() }

// Time returns midnight UTC of the date, for callers that need time arithmetic.
func (d Date) Time() time.Time {
	return time.Date(int(d.year), time.Month(d.month), int(d.day), 0, 0, 0, 0, time.UTC)
}

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	d, _ := NewDate(t.Year(), int(t.Month()), t.Day())
	return d
}

// MarshalText formats the date as YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses YYYY-MM-DD; the empty text is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = Date{}
		return nil
	}
	parsed, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}

// MarshalJSON writes "YYYY-MM-DD", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD", "" or null.
func (d *Date) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*d = Date{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fail(ErrDateFormat, "", "%s", b)
	}
	return d.UnmarshalText(b[1 : len(b)-1])
}

// within reports whether d lies in [from, to]; a zero bound is open.
func (d Date) within(from, to Date) bool {
	if !from.IsZero() && d.Before(from) {
		return false
	}
	return to.IsZero() || !d.After(to)
}
