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
	return leanDecodeWith(eventType, data, nil)
}

// leanDecodeWith is leanDecode sharing repeated values through syms
// (owned by the calling goroutine; nil shares nothing).
func leanDecodeWith(eventType string, data []byte, syms *symbols) (domain.Event, error) {
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
		ev, ok = scanPlacement(data, syms)
	case domain.TypeSubsidyPaid:
		ev, ok = scanSubsidy(data, syms)
	case domain.TypeTrainingRecorded:
		ev, ok = scanTraining(data, syms)
	case domain.TypeLoanRepaid:
		ev, ok = scanRepayment(data, syms)
	case domain.TypeInterestSubsidyPaid:
		ev, ok = scanInterestSubsidy(data, syms)
	case domain.TypeLoanIssued:
		ev, ok = scanLoanIssued(data, syms)
	case domain.TypeLoanClosed:
		ev, ok = scanLoanClosed(data, syms)
	}
	if ok {
		return ev, nil
	}
	return domain.Decode(eventType, data)
}

// scanner reads one flat JSON object; any surprise sets bad.
type scanner struct {
	b    []byte
	i    int
	bad  bool
	syms *symbols // nil: nothing is shared between events
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

// sym reads a string of a field with few distinct values (a region, a
// fund, a kind, a document), shared between the events that name it.
func (s *scanner) sym() string {
	raw := s.raw()
	if s.bad || s.syms == nil {
		return string(raw)
	}
	return s.syms.str(raw)
}

func (s *scanner) date() domain.Date {
	raw := s.raw()
	if s.bad {
		return domain.Date{}
	}
	if s.syms != nil && len(raw) == len(dateKey{}) {
		if d, ok := s.syms.dates[dateKey(raw)]; ok {
			return d
		}
	}
	d, err := domain.ParseDate(string(raw))
	if err != nil {
		s.bad = true
		return d
	}
	if s.syms != nil && len(raw) == len(dateKey{}) && len(s.syms.dates) < maxSymbols {
		s.syms.dates[dateKey(raw)] = d
	}
	return d
}

// boolean reads true or false.
func (s *scanner) boolean() bool {
	s.ws()
	switch {
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		s.i += len("true")
		return true
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		s.i += len("false")
		return false
	}
	s.bad = true
	return false
}

// maxSymbols bounds each table of shared values a decoder keeps.
const maxSymbols = 4096

// dateKey is a date as written, YYYY-MM-DD.
type dateKey [10]byte

// symbols shares, among the events one goroutine decodes, the values that
// repeat from event to event, so that decoding them allocates nothing.
type symbols struct {
	strs  map[string]string
	dates map[dateKey]domain.Date
	inds  map[string][]domain.Indicator // by the list as written
}

func newSymbols() *symbols {
	return &symbols{strs: map[string]string{}, dates: map[dateKey]domain.Date{}, inds: map[string][]domain.Indicator{}}
}

func (y *symbols) str(raw []byte) string {
	if v, ok := y.strs[string(raw)]; ok {
		return v
	}
	v := string(raw)
	if len(y.strs) < maxSymbols {
		y.strs[v] = v
	}
	return v
}

// money reads a quoted decimal of at most 2 places, as decimal.Decimal
// would unmarshal it (shopspring writes amounts as quoted strings).
func (s *scanner) money() decimal.Decimal { return s.decimal(2) }

// decimal reads a quoted non-negative decimal of at most places places.
func (s *scanner) decimal(places int32) decimal.Decimal {
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
	if exp < -places {
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

// indicators reads an array of known indicator names; a list written
// exactly as one read before is shared with it.
func (s *scanner) indicators() []domain.Indicator {
	s.ws()
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

func (s *scanner) indicatorList() []domain.Indicator {
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

func scanPlacement(data []byte, syms *symbols) (domain.Event, bool) {
	var e domain.PlacementRecorded
	s := scanner{b: data, syms: syms}
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
			e.Kind = domain.PlacementKind(s.sym())
		case "region_code":
			m.once(&s, 3)
			e.RegionCode = s.sym()
		case "date":
			m.once(&s, 4)
			e.Date = s.date()
		case "employer":
			m.once(&s, 5)
			e.Employer = s.sym()
		case "indicators":
			m.once(&s, 6)
			e.Indicators = s.indicators()
		default:
			s.bad = true
		}
	})
	// A key cannot appear inside a string the scanner accepts (no quotes
	// in them), so seeing the key is seeing the list.
	return e, !s.bad && m&(1<<6) != 0
}

func scanSubsidy(data []byte, syms *symbols) (domain.Event, bool) {
	var e domain.SubsidyPaid
	s := scanner{b: data, syms: syms}
	var m seen
	s.fields(func(key []byte) {
		switch string(key) {
		case "payment_id":
			m.once(&s, 0)
			e.PaymentID = s.str()
		case "program_id":
			m.once(&s, 1)
			e.ProgramID = s.sym()
		case "subsidy_type":
			m.once(&s, 2)
			e.SubsidyType = domain.SubsidyType(s.sym())
		case "beneficiary_id":
			m.once(&s, 3)
			e.BeneficiaryID = s.str()
		case "fund_id":
			m.once(&s, 4)
			e.FundID = s.sym()
		case "region_code":
			m.once(&s, 5)
			e.RegionCode = s.sym()
		case "amount":
			m.once(&s, 6)
			e.Amount = s.money()
		case "date":
			m.once(&s, 7)
			e.Date = s.date()
		case "document":
			m.once(&s, 8)
			e.Document = s.sym()
		default:
			s.bad = true
		}
	})
	return e, !s.bad && m&(1<<6) != 0
}

func scanTraining(data []byte, syms *symbols) (domain.Event, bool) {
	var e domain.TrainingRecorded
	s := scanner{b: data, syms: syms}
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
			e.CourseKind = domain.CourseKind(s.sym())
		case "region_code":
			m.once(&s, 3)
			e.RegionCode = s.sym()
		case "date":
			m.once(&s, 4)
			e.Date = s.date()
		default:
			s.bad = true
		}
	})
	return e, !s.bad
}

func scanRepayment(data []byte, syms *symbols) (domain.Event, bool) {
	var e domain.LoanRepaid
	s := scanner{b: data, syms: syms}
	var m seen
	s.fields(func(key []byte) {
		switch string(key) {
		case "loan_id":
			m.once(&s, 0)
			e.LoanID = s.str()
		case "bank":
			m.once(&s, 1)
			e.Bank = s.sym()
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

func scanInterestSubsidy(data []byte, syms *symbols) (domain.Event, bool) {
	var e domain.InterestSubsidyPaid
	s := scanner{b: data, syms: syms}
	var m seen
	s.fields(func(key []byte) {
		switch string(key) {
		case "loan_id":
			m.once(&s, 0)
			e.LoanID = s.str()
		case "fund_id":
			m.once(&s, 1)
			e.FundID = s.sym()
		case "region_code":
			m.once(&s, 2)
			e.RegionCode = s.sym()
		case "amount":
			m.once(&s, 3)
			e.Amount = s.money()
		case "period_end":
			m.once(&s, 4)
			e.PeriodEnd = s.date()
		case "document":
			m.once(&s, 5)
			e.Document = s.sym()
		default:
			s.bad = true
		}
	})
	return e, !s.bad && m&(1<<3) != 0
}

func scanLoanIssued(data []byte, syms *symbols) (domain.Event, bool) {
	var e domain.LoanIssued
	s := scanner{b: data, syms: syms}
	var m seen
	s.fields(func(key []byte) {
		switch string(key) {
		case "loan_id":
			m.once(&s, 0)
			e.LoanID = s.str()
		case "borrower_id":
			m.once(&s, 1)
			e.BorrowerID = s.str()
		case "borrower_kind":
			m.once(&s, 2)
			e.BorrowerKind = domain.BorrowerKind(s.sym())
		case "bank":
			m.once(&s, 3)
			e.Bank = s.sym()
		case "principal":
			m.once(&s, 4)
			e.Principal = s.money()
		case "annual_rate":
			m.once(&s, 5)
			e.AnnualRate = s.decimal(maxRatePlaces)
		case "term_months":
			m.once(&s, 6)
			e.TermMonths = s.integer()
		case "issue_date":
			m.once(&s, 7)
			e.IssueDate = s.date()
		case "guarantee_fund_id":
			m.once(&s, 8)
			e.GuaranteeFundID = s.sym()
		case "region_code":
			m.once(&s, 9)
			e.RegionCode = s.sym()
		case "poor_village":
			m.once(&s, 10)
			e.PoorVillage = s.boolean()
		case "counter_guarantee_waived":
			m.once(&s, 11)
			e.CounterGuaranteeWaived = s.boolean()
		case "jobs_created":
			m.once(&s, 12)
			e.JobsCreated = s.integer()
		case "document":
			m.once(&s, 13)
			e.Document = s.sym()
		default:
			// partners (a list) and anything unknown: the fallback decides.
			s.bad = true
		}
	})
	return e, !s.bad && m&(1<<4) != 0 && m&(1<<5) != 0
}

// maxRatePlaces is the most decimal places of an interest rate the lean
// decoder reads itself (more: the fallback decides).
const maxRatePlaces = 8

func scanLoanClosed(data []byte, syms *symbols) (domain.Event, bool) {
	var e domain.LoanClosed
	s := scanner{b: data, syms: syms}
	var m seen
	s.fields(func(key []byte) {
		switch string(key) {
		case "loan_id":
			m.once(&s, 0)
			e.LoanID = s.str()
		case "date":
			m.once(&s, 1)
			e.Date = s.date()
		default:
			s.bad = true
		}
	})
	return e, !s.bad
}
