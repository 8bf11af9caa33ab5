package domain

import "github.com/shopspring/decimal"

// A rebuild decodes every event of the log, and most of a province's log is
// placements, subsidies, trainings and loan events. For those, DecodeWith
// first tries a decoder without reflection: a scanner of one flat JSON
// object of known keys (in any order, with or without spaces) whose strings
// have no escapes. Anything else (an unknown key, a key given twice, an
// escape, a number where a string was written, trailing data) makes it give
// up, and encoding/json decodes the event as before, errors included. So the
// fast path changes nothing a caller sees (FuzzFastDecode checks it against
// encoding/json), only how long it takes.

// fastDecoders maps wire names to the scanners of those events; ok is false
// when the data is in a form they do not read.
var fastDecoders = map[string]func(data []byte, syms *Symbols) (e Event, ok bool){
	TypePlacementRecorded:   scanPlacement,
	TypeSubsidyPaid:         scanSubsidy,
	TypeTrainingRecorded:    scanTraining,
	TypeLoanRepaid:          scanRepayment,
	TypeInterestSubsidyPaid: scanInterestSubsidy,
	TypeLoanIssued:          scanLoanIssued,
	TypeLoanClosed:          scanLoanClosed,
}

// maxSymbols bounds each table of shared values a Symbols keeps, so that a
// log of unique values does not grow it without end.
const maxSymbols = 4096

// Symbols shares, among the events one goroutine decodes with DecodeWith,
// the values that repeat from event to event (regions, funds, kinds, lists of
// indicators, amounts), so that decoding them allocates nothing. A Symbols
// is not safe for concurrent use; events decoded through it may share a
// list of indicators, which callers therefore must not modify.
type Symbols struct {
	strs    map[string]string
	inds    map[string][]Indicator // by the list as written
	amounts map[string]amount      // by the amount as written
}

// amount is a decimal read before, with its number of fraction digits
// (which a field's limit on decimal places is checked against).
type amount struct {
	value    decimal.Decimal
	fraction int32
}

// NewSymbols returns an empty table of shared values.
func NewSymbols() *Symbols {
	return &Symbols{strs: map[string]string{}, inds: map[string][]Indicator{}, amounts: map[string]amount{}}
}

// str returns the shared copy of the string raw.
func (y *Symbols) str(raw []byte) string {
	if v, ok := y.strs[string(raw)]; ok {
		return v
	}
	v := string(raw)
	if len(y.strs) < maxSymbols {
		y.strs[v] = v
	}
	return v
}

// knownIndicators maps each indicator to its constant, so that reading one
// allocates no string.
var knownIndicators = func() map[string]Indicator {
	m := make(map[string]Indicator, len(Indicators))
	for _, ind := range Indicators {
		m[string(ind)] = ind
	}
	return m
}()

// maxRatePlaces is the most decimal places of an interest rate the fast
// path reads itself (more: encoding/json decides).
const maxRatePlaces = 8

// maxMoneyPlaces is the most decimal places of an amount the fast path
// reads itself: the fen of ParseMoney.
const maxMoneyPlaces = 2

// seen guards against a key given twice (encoding/json would keep the last;
// the fallback decides).
type seen uint32

func (m *seen) once(s *scanner, bit uint) {
	if *m&(1<<bit) != 0 {
		s.bad = true
	}
	*m |= 1 << bit
}

// has reports whether the key numbered bit was read.
func (m seen) has(bit uint) bool { return m&(1<<bit) != 0 }

func scanPlacement(data []byte, syms *Symbols) (Event, bool) {
	var e PlacementRecorded
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
			e.Kind = PlacementKind(s.sym())
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
	return e, !s.bad && m.has(6)
}

func scanSubsidy(data []byte, syms *Symbols) (Event, bool) {
	var e SubsidyPaid
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
			e.SubsidyType = SubsidyType(s.sym())
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
			e.Amount = s.decimal(maxMoneyPlaces)
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
	return e, !s.bad && m.has(6)
}

func scanTraining(data []byte, syms *Symbols) (Event, bool) {
	var e TrainingRecorded
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
			e.CourseKind = CourseKind(s.sym())
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

func scanRepayment(data []byte, syms *Symbols) (Event, bool) {
	var e LoanRepaid
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
			e.Principal = s.decimal(maxMoneyPlaces)
		case "interest":
			m.once(&s, 3)
			e.Interest = s.decimal(maxMoneyPlaces)
		case "date":
			m.once(&s, 4)
			e.Date = s.date()
		default:
			s.bad = true
		}
	})
	return e, !s.bad && m.has(2) && m.has(3)
}

func scanInterestSubsidy(data []byte, syms *Symbols) (Event, bool) {
	var e InterestSubsidyPaid
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
			e.Amount = s.decimal(maxMoneyPlaces)
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
	return e, !s.bad && m.has(3)
}

func scanLoanIssued(data []byte, syms *Symbols) (Event, bool) {
	var e LoanIssued
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
			e.BorrowerKind = BorrowerKind(s.sym())
		case "bank":
			m.once(&s, 3)
			e.Bank = s.sym()
		case "principal":
			m.once(&s, 4)
			e.Principal = s.decimal(maxMoneyPlaces)
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
			// partners (a list, rare) and anything unknown: the fallback decides.
			s.bad = true
		}
	})
	return e, !s.bad && m.has(4) && m.has(5)
}

func scanLoanClosed(data []byte, syms *Symbols) (Event, bool) {
	var e LoanClosed
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
