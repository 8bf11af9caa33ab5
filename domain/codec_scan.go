package domain

import (
	"bytes"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// scanner reads one flat JSON object for the fast decoders; any surprise
// sets bad, after which every read returns a zero value.
type scanner struct {
	b    []byte
	i    int
	bad  bool
	syms *Symbols // nil: nothing is shared between events
}

// ws skips JSON whitespace.
func (s *scanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\n' || s.b[s.i] == '\t' || s.b[s.i] == '\r') {
		s.i++
	}
}

// peek reports whether the next byte after whitespace is c, and consumes it if so.
func (s *scanner) peek(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) expect(c byte) {
	if !s.peek(c) {
		s.bad = true
	}
}

// word consumes the literal w (true, false, null) if it comes next.
func (s *scanner) word(w string) bool {
	s.ws()
	if !bytes.HasPrefix(s.b[s.i:], []byte(w)) {
		return false
	}
	s.i += len(w)
	return true
}

// fields calls field for each key of the object, which must be the whole
// data; field reads the value.
func (s *scanner) fields(field func(key []byte)) {
	// encoding/json replaces invalid UTF-8, which the fast path does not.
	if !utf8.Valid(s.b) {
		s.bad = true
		return
	}
	s.expect('{')
	if !s.peek('}') {
		for !s.bad {
			key := s.raw()
			s.expect(':')
			if s.bad {
				return
			}
			field(key)
			if s.peek(',') {
				continue
			}
			s.expect('}')
			break
		}
	}
	s.ws()
	if s.i != len(s.b) {
		s.bad = true
	}
}

// raw reads a string without escapes and returns its bytes (fields has
// checked that they are valid UTF-8).
func (s *scanner) raw() []byte {
	s.expect('"')
	if s.bad {
		return nil
	}
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1]
		case c == '\\' || c < 0x20:
			s.bad = true
			return nil
		}
		s.i++
	}
	s.bad = true
	return nil
}

// str reads a string into its own allocation, so that it keeps nothing else alive.
func (s *scanner) str() string { return string(s.raw()) }

// sym reads a string of a field with few distinct values (a region, a
// fund, a kind, a document), shared between the events that name it.
func (s *scanner) sym() string {
	raw := s.raw()
	if s.bad || s.syms == nil {
		return string(raw)
	}
	return s.syms.str(raw)
}

// date reads a Date as Date.UnmarshalJSON does: null, "" or "YYYY-MM-DD".
func (s *scanner) date() Date {
	if s.word("null") {
		return Date{}
	}
	raw := s.raw()
	if s.bad || len(raw) == 0 {
		return Date{}
	}
	d, _, ok := parseDate(string(raw))
	if !ok {
		s.bad = true
	}
	return d
}

// boolean reads true or false.
func (s *scanner) boolean() bool {
	switch {
	case s.word("true"):
		return true
	case s.word("false"):
		return false
	}
	s.bad = true
	return false
}

// maxFastDigits keeps the digits of an amount within int64, the same bound
// under which decimal.NewFromString parses with strconv.ParseInt and builds
// the same value.
const maxFastDigits = 18

// decimal reads a quoted "DIGITS" or "DIGITS.DIGITS" of at most places
// decimal places (shopspring writes decimals as quoted strings), building
// the value decimal.NewFromString would: the digits without the point, the
// exponent minus the number of fraction digits. An amount written as one
// read before is shared with it (a Decimal is immutable), which saves the
// big.Int of each: most amounts of a log are a few standard ones.
func (s *scanner) decimal(places int32) decimal.Decimal {
	raw := s.raw()
	if s.bad {
		return decimal.Decimal{}
	}
	if s.syms != nil {
		if a, ok := s.syms.amounts[string(raw)]; ok {
			if a.fraction > places {
				s.bad = true
			}
			return a.value
		}
	}
	value, fraction, ok := parseAmount(raw)
	if !ok || fraction > places {
		s.bad = true
		return decimal.Decimal{}
	}
	if s.syms != nil && len(s.syms.amounts) < maxSymbols {
		s.syms.amounts[string(raw)] = amount{value, fraction}
	}
	return value
}

// parseAmount parses DIGITS or DIGITS.DIGITS, with fraction the number of
// digits after the point.
func parseAmount(raw []byte) (value decimal.Decimal, fraction int32, ok bool) {
	var v int64
	digits, point := 0, false
	for _, c := range raw {
		switch {
		case c >= '0' && c <= '9':
			v = v*10 + int64(c-'0')
			digits++
			if point {
				fraction++
			}
		case c == '.' && !point && digits > 0:
			point = true
		default:
			return decimal.Decimal{}, 0, false
		}
	}
	if digits == 0 || digits > maxFastDigits || point && fraction == 0 {
		return decimal.Decimal{}, 0, false
	}
	return decimal.New(v, -fraction), fraction, true
}

// maxFastIntDigits keeps an integer the fast path reads far from overflow.
const maxFastIntDigits = 9

// integer reads a non-negative JSON integer (no leading zero, as JSON
// requires); a sign, a fraction or an exponent make it give up.
func (s *scanner) integer() int {
	s.ws()
	start, v := s.i, 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' && s.i-start < maxFastIntDigits {
		v = v*10 + int(s.b[s.i]-'0')
		s.i++
	}
	if s.i == start || s.b[start] == '0' && s.i-start > 1 {
		s.bad = true
	}
	return v
}

// indicators reads null or an array of indicators; a list written exactly
// as one read before is shared with it.
func (s *scanner) indicators() []Indicator {
	if s.word("null") {
		return nil
	}
	if s.syms == nil {
		return s.indicatorList()
	}
	end := bytes.IndexByte(s.b[s.i:], ']')
	if end < 0 {
		s.bad = true
		return nil
	}
	raw := s.b[s.i : s.i+end+1]
	if list, ok := s.syms.inds[string(raw)]; ok {
		s.i += len(raw)
		return list
	}
	start := s.i
	list := s.indicatorList()
	if !s.bad && len(s.syms.inds) < maxSymbols {
		s.syms.inds[string(s.b[start:s.i])] = list
	}
	return list
}

// indicatorList reads an array of strings as indicators; a known one
// costs no allocation.
func (s *scanner) indicatorList() []Indicator {
	s.expect('[')
	if s.peek(']') {
		return []Indicator{}
	}
	var out []Indicator
	for !s.bad {
		raw := s.raw()
		ind, known := knownIndicators[string(raw)]
		if !known {
			ind = Indicator(raw)
		}
		out = append(out, ind)
		if s.peek(',') {
			continue
		}
		s.expect(']')
		break
	}
	if s.bad {
		return nil
	}
	return out
}
