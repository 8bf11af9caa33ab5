package domain

import (
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// A rebuild decodes every event of the log, and most of a province's log is
// placements, subsidy payments and repayments. For those, Decode first tries
// a decoder without reflection that reads exactly the JSON Encode writes:
// the fields in struct order, no spaces, strings without escapes. Anything
// else (another order, an escape, a number where a string was written, an
// unknown field) makes it give up, and encoding/json decodes the event as
// before, errors included. So the fast path changes nothing a caller sees
// (FuzzFastDecode checks it against encoding/json), only how long it takes.

// fastDecoders maps wire names to decoders of the canonical encoding; ok is
// false when the data is in any other form.
var fastDecoders = map[string]func([]byte) (e Event, ok bool){
	TypePlacementRecorded: fastPlacementRecorded,
	TypeSubsidyPaid:       fastSubsidyPaid,
	TypeLoanRepaid:        fastLoanRepaid,
}

func fastPlacementRecorded(data []byte) (Event, bool) {
	var e PlacementRecorded
	s := scanner{data: data, ok: true}
	s.lit(`{"placement_id":`)
	e.PlacementID = s.str()
	s.lit(`,"beneficiary_id":`)
	e.BeneficiaryID = s.str()
	s.lit(`,"kind":`)
	e.Kind = PlacementKind(s.str())
	s.lit(`,"region_code":`)
	e.RegionCode = s.str()
	s.lit(`,"date":`)
	e.Date = s.date()
	if s.maybe(`,"employer":`) {
		e.Employer = s.str()
	}
	s.lit(`,"indicators":`)
	e.Indicators = s.indicators()
	s.lit(`}`)
	return e, s.done()
}

func fastSubsidyPaid(data []byte) (Event, bool) {
	var e SubsidyPaid
	s := scanner{data: data, ok: true}
	s.lit(`{"payment_id":`)
	e.PaymentID = s.str()
	s.lit(`,"program_id":`)
	e.ProgramID = s.str()
	s.lit(`,"subsidy_type":`)
	e.SubsidyType = SubsidyType(s.str())
	s.lit(`,"beneficiary_id":`)
	e.BeneficiaryID = s.str()
	s.lit(`,"fund_id":`)
	e.FundID = s.str()
	s.lit(`,"region_code":`)
	e.RegionCode = s.str()
	s.lit(`,"amount":`)
	e.Amount = s.amount()
	s.lit(`,"date":`)
	e.Date = s.date()
	s.lit(`,"document":`)
	e.Document = s.str()
	s.lit(`}`)
	return e, s.done()
}

func fastLoanRepaid(data []byte) (Event, bool) {
	var e LoanRepaid
	s := scanner{data: data, ok: true}
	s.lit(`{"loan_id":`)
	e.LoanID = s.str()
	s.lit(`,"bank":`)
	e.Bank = s.str()
	s.lit(`,"principal":`)
	e.Principal = s.amount()
	s.lit(`,"interest":`)
	e.Interest = s.amount()
	s.lit(`,"date":`)
	e.Date = s.date()
	s.lit(`}`)
	return e, s.done()
}

// scanner reads canonical JSON left to right. Once a read fails, ok stays
// false and every later read returns a zero value: callers check done once.
type scanner struct {
	data []byte
	pos  int
	ok   bool
}

func (s *scanner) done() bool { return s.ok && s.pos == len(s.data) }

// lit consumes the exact text want.
func (s *scanner) lit(want string) {
	if !s.maybe(want) {
		s.ok = false
	}
}

// maybe consumes want if the data continues with it.
func (s *scanner) maybe(want string) bool {
	if !s.ok || len(s.data)-s.pos < len(want) || string(s.data[s.pos:s.pos+len(want)]) != want {
		return false
	}
	s.pos += len(want)
	return true
}

// raw returns the bytes of a string without escapes, between its quotes.
// encoding/json replaces invalid UTF-8, so such a string is not taken here.
func (s *scanner) raw() []byte {
	if !s.ok || s.pos >= len(s.data) || s.data[s.pos] != '"' {
		s.ok = false
		return nil
	}
	start := s.pos + 1
	for i := start; i < len(s.data); i++ {
		switch c := s.data[i]; {
		case c == '"':
			s.pos = i + 1
			if !utf8.Valid(s.data[start:i]) {
				s.ok = false
				return nil
			}
			return s.data[start:i]
		case c == '\\' || c < ' ':
			s.ok = false
			return nil
		}
	}
	s.ok = false
	return nil
}

// str reads a string into its own allocation, so that it keeps nothing else alive.
func (s *scanner) str() string { return string(s.raw()) }

// date reads a Date as Date.UnmarshalJSON does: null, "" or "YYYY-MM-DD".
func (s *scanner) date() Date {
	if s.maybe("null") {
		return Date{}
	}
	text := s.raw()
	if !s.ok {
		return Date{}
	}
	var d Date
	if d.UnmarshalText(text) != nil {
		s.ok = false
	}
	return d
}

// maxFastAmountDigits keeps the digits of an amount within int64, the same
// bound under which decimal.NewFromString parses with strconv.ParseInt and
// builds the same value.
const maxFastAmountDigits = 18

// amount reads a decimal written as a quoted "DIGITS" or "DIGITS.DIGITS",
// building the value decimal.NewFromString would: the digits without the
// point, the exponent minus the number of fraction digits.
func (s *scanner) amount() decimal.Decimal {
	text := s.raw()
	var value int64
	digits, fraction, point := 0, 0, false
	for _, c := range text {
		switch {
		case c >= '0' && c <= '9':
			value = value*10 + int64(c-'0')
			digits++
			if point {
				fraction++
			}
		case c == '.' && !point && digits > 0:
			point = true
		default:
			s.ok = false
		}
	}
	if !s.ok || digits == 0 || digits > maxFastAmountDigits || point && fraction == 0 {
		s.ok = false
		return decimal.Decimal{}
	}
	return decimal.New(value, -int32(fraction))
}

// indicators reads null, [] or a list of strings.
func (s *scanner) indicators() []Indicator {
	if s.maybe("null") {
		return nil
	}
	s.lit("[")
	list := []Indicator{}
	if s.maybe("]") {
		return list
	}
	for s.ok {
		list = append(list, Indicator(s.str()))
		if s.maybe("]") {
			return list
		}
		s.lit(",")
	}
	return nil
}
