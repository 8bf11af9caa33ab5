package projections

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
)

// Lean decoding. A rebuild spends most of its time decoding JSON, so the
// events that make up the bulk of a real log (placements, subsidies,
// trainings, loan repayments and interest subsidies) are read by a small
// scanner that only accepts the exact shape domain.Encode writes: a flat
// object of known keys whose strings have no escapes. Anything else (an
// unknown key, an escape, a nested value) falls back to domain.Decode, so
// the result is always what domain.Decode returns (TestLeanDecodeEqualsDomain).
// Events the views do not read (registrations, certifications, programs,
// ended placements, loan policies) are not decoded at all.

// ignored lists the event types no view reads.
var ignored = map[string]bool{
	domain.TypeBeneficiaryRegistered: true,
	domain.TypeCategoryCertified:     true,
	domain.TypeProgramDefined:        true,
	domain.TypePlacementEnded:        true,
	domain.TypeLoanPolicySet:         true,
}

// notBusiness reports the event types that record no business fact
// (signed checkpoints, audited reads, the approval workflow around a
// command): no view reads them and they must not move the views' latest
// business date, which dates every view asked without as_of.
func notBusiness(eventType string) bool {
	return eventType == domain.TypeCheckpointRecorded || eventType == domain.TypeReadAudited ||
		strings.HasPrefix(eventType, approvalTypePrefix)
}

// approvalTypePrefix begins the wire names of the approval workflow's events.
const approvalTypePrefix = "approval."

// leanDecode decodes an event, nil for an ignored type.
func leanDecode(eventType string, data []byte) (domain.Event, error) {
	if ignored[eventType] || notBusiness(eventType) {
		return nil, nil
	}
	var ev domain.Event
	ok := false
	if !utf8.Valid(data) {
		// encoding/json would replace invalid bytes; let it.
		return domain.Decode(eventType, data)
	}
	switch eventType {
	case domain.TypePlacementRecorded:
		ev, ok = scanPlacement(data)
	case domain.TypeSubsidyPaid:
		ev, ok = scanSubsidy(data)
	case domain.TypeTrainingRecorded:
		ev, ok = scanTraining(data)
	case domain.TypeLoanRepaid:
		ev, ok = scanRepayment(data)
	case domain.TypeInterestSubsidyPaid:
		ev, ok = scanInterestSubsidy(data)
	}
	if ok {
		return ev, nil
	}
	return domain.Decode(eventType, data)
}

// scanner reads one flat JSON object; any surprise sets bad.
type scanner struct {
	b   []byte
	i   int
	bad bool
}

func (s *scanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\n' || s.b[s.i] == '\t' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scanner) expect(c byte) {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return
	}
	s.bad = true
}

// fields calls field for each key of the object; field reads the value.
func (s *scanner) fields(field func(key []byte)) {
	s.expect('{')
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return
	}
	for !s.bad {
		key := s.raw()
		s.expect(':')
		if s.bad {
			return
		}
		field(key)
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
			continue
		}
		s.expect('}')
		break
	}
	s.ws()
	if s.i != len(s.b) {
		s.bad = true
	}
}

// raw reads a string without escapes and returns its bytes.
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

func (s *scanner) str() string { return string(s.raw()) }

func (s *scanner) date() domain.Date {
	raw := s.raw()
	if s.bad {
		return domain.Date{}
	}
	d, err := domain.ParseDate(string(raw))
	if err != nil {
		s.bad = true
	}
	return d
}

// money reads a quoted decimal of at most 2 places, as decimal.Decimal
// would unmarshal it (shopspring writes amounts as quoted strings).
func (s *scanner) money() decimal.Decimal {
	raw := s.raw()
	if s.bad || len(raw) == 0 || len(raw) > 18 {
		s.bad = true
		return decimal.Decimal{}
	}
	var v int64
	exp := int32(0)
	point := -1
	for k, c := range raw {
		switch {
		case c >= '0' && c <= '9':
			v = v*10 + int64(c-'0')
		case c == '.' && point < 0 && k > 0 && k < len(raw)-1:
			point = k
		default:
			s.bad = true
			return decimal.Decimal{}
		}
	}
	if point >= 0 {
		exp = -int32(len(raw) - 1 - point)
	}
	if exp < -2 {
		s.bad = true
	}
	return decimal.New(v, exp)
}

func (s *scanner) integer() int {
	s.ws()
	start, v := s.i, 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' && s.i-start < 9 {
		v = v*10 + int(s.b[s.i]-'0')
		s.i++
	}
	if s.i == start {
		s.bad = true
	}
	return v
}

// indicators reads an array of known indicator names.
func (s *scanner) indicators() []domain.Indicator {
	s.expect('[')
	var out []domain.Indicator
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return []domain.Indicator{}
	}
	for !s.bad {
		raw := s.raw()
		i, ok := indicatorIdx[domain.Indicator(raw)]
		if !ok {
			s.bad = true
			return nil
		}
		out = append(out, domain.Indicators[i])
		s.ws()
		if s.i < len(s.b) && s.b[s.i] == ',' {
			s.i++
			continue
		}
		s.expect(']')
		break
	}
	return out
}

// seen guards against a key given twice (domain.Decode would keep the last;
// the fallback decides).
type seen uint32

func (m *seen) once(s *scanner, bit uint) {
	if *m&(1<<bit) != 0 {
		s.bad = true
	}
	*m |= 1 << bit
}

func scanPlacement(data []byte) (domain.Event, bool) {
	var e domain.PlacementRecorded
	s := scanner{b: data}
	var m seen
	s.fields(func(key []byte) {
		switch string(key) {
		case "placement_id":
			m.once(&s, 0)
			e.PlacementID = s.str()
		case "beneficiary_id":
			m.once(&s, 1)
			e.BeneficiaryID = s.str()
		case "kind":
			m.once(&s, 2)
			e.Kind = domain.PlacementKind(s.str())
		case "region_code":
			m.once(&s, 3)
			e.RegionCode = s.str()
		case "date":
			m.once(&s, 4)
			e.Date = s.date()
		case "employer":
			m.once(&s, 5)
			e.Employer = s.str()
		case "indicators":
			m.once(&s, 6)
			e.Indicators = s.indicators()
		default:
			s.bad = true
		}
	})
	return e, !s.bad && bytes.Contains(data, []byte(`"indicators":`))
}

func scanSubsidy(data []byte) (domain.Event, bool) {
	var e domain.SubsidyPaid
	s := scanner{b: data}
	var m seen
	s.fields(func(key []byte) {
		switch string(key) {
		case "payment_id":
			m.once(&s, 0)
			e.PaymentID = s.str()
		case "program_id":
			m.once(&s, 1)
			e.ProgramID = s.str()
		case "subsidy_type":
			m.once(&s, 2)
			e.SubsidyType = domain.SubsidyType(s.str())
		case "beneficiary_id":
			m.once(&s, 3)
			e.BeneficiaryID = s.str()
		case "fund_id":
			m.once(&s, 4)
			e.FundID = s.str()
		case "region_code":
			m.once(&s, 5)
			e.RegionCode = s.str()
		case "amount":
			m.once(&s, 6)
			e.Amount = s.money()
		case "date":
			m.once(&s, 7)
			e.Date = s.date()
		case "document":
			m.once(&s, 8)
			e.Document = s.str()
		default:
			s.bad = true
		}
	})
	return e, !s.bad && m&(1<<6) != 0
}

func scanTraining(data []byte) (domain.Event, bool) {
	var e domain.TrainingRecorded
	s := scanner{b: data}
	var m seen
	s.fields(func(key []byte) {
		switch string(key) {
		case "training_id":
			m.once(&s, 0)
			e.TrainingID = s.str()
		case "beneficiary_id":
			m.once(&s, 1)
			e.BeneficiaryID = s.str()
		case "course_kind":
			m.once(&s, 2)
			e.CourseKind = domain.CourseKind(s.str())
		case "region_code":
			m.once(&s, 3)
			e.RegionCode = s.str()
		case "date":
			m.once(&s, 4)
			e.Date = s.date()
		default:
			s.bad = true
		}
	})
	return e, !s.bad
}

func scanRepayment(data []byte) (domain.Event, bool) {
	var e domain.LoanRepaid
	s := scanner{b: data}
	var m seen
	s.fields(func(key []byte) {
		switch string(key) {
		case "loan_id":
			m.once(&s, 0)
			e.LoanID = s.str()
		case "bank":
			m.once(&s, 1)
			e.Bank = s.str()
		case "principal":
			m.once(&s, 2)
			e.Principal = s.money()
		case "interest":
			m.once(&s, 3)
			e.Interest = s.money()
		case "date":
			m.once(&s, 4)
			e.Date = s.date()
		default:
			s.bad = true
		}
	})
	return e, !s.bad && m&(1<<2) != 0 && m&(1<<3) != 0
}

func scanInterestSubsidy(data []byte) (domain.Event, bool) {
	var e domain.InterestSubsidyPaid
	s := scanner{b: data}
	var m seen
	s.fields(func(key []byte) {
		switch string(key) {
		case "loan_id":
			m.once(&s, 0)
			e.LoanID = s.str()
		case "fund_id":
			m.once(&s, 1)
			e.FundID = s.str()
		case "region_code":
			m.once(&s, 2)
			e.RegionCode = s.str()
		case "amount":
			m.once(&s, 3)
			e.Amount = s.money()
		case "period_end":
			m.once(&s, 4)
			e.PeriodEnd = s.date()
		case "document":
			m.once(&s, 5)
			e.Document = s.str()
		default:
			s.bad = true
		}
	})
	return e, !s.bad && m&(1<<3) != 0
}
