package domain

import (
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Limits on the size of free-text and list fields, so that one command cannot
// bloat the log.
const (
	maxNameBytes       = 200  // names of regions, funds, programs, banks, employers
	maxDocumentBytes   = 200  // an approval document number (文号) with its title
	maxReasonBytes     = 1000 // reasons of reversals, ends and defaults
	maxPersonalBytes   = 8192 // the encrypted personal-data blob
	maxCategoryPeriods = 32   // certified categories given at registration
	maxEligible        = 16   // eligible categories of a program
	maxPartners        = 50   // partners of a partnership loan
	maxJobsCreated     = 100_000
	maxLimitPerPerson  = 1000 // per-beneficiary payment limit of a program
	minTargetYear      = 2000
	maxTargetYear      = 2100
)

// maxAnnualRate bounds a loan's annual interest rate (a fraction), to catch a
// percent typed where a fraction is expected ("4.35" for 4.35%).
var maxAnnualRate = decimal.RequireFromString("0.36")

// maxPartnerShare bounds a policy's partnership multiplier.
var maxPartnerShare = decimal.NewFromInt(10)

// Decide checks a command against the current state and returns the events
// that record it, or an *Error naming the rule and field that refuse it. It
// does not change the ledger: the caller evolves the events once they are
// appended (or tentatively, under Mark/Rollback).
func (l *Ledger) Decide(cmd Command) ([]Event, error) {
	events, err := l.decide(cmd)
	if err != nil {
		return nil, err
	}
	return events, nil
}

func (l *Ledger) decide(cmd Command) ([]Event, *Error) {
	switch c := cmd.(type) {
	case DefineRegion:
		return single(l.decideDefineRegion(c))
	case OpenFund:
		return single(l.decideOpenFund(c))
	case AllocateFund:
		return single(l.decideAllocateFund(c))
	case RegisterBeneficiary:
		return single(l.decideRegisterBeneficiary(c))
	case CertifyCategory:
		return single(l.decideCertifyCategory(c))
	case DefineProgram:
		return single(l.decideDefineProgram(c))
	case PaySubsidy:
		return single(l.decidePaySubsidy(c))
	case ReverseSubsidy:
		return single(l.decideReverseSubsidy(c))
	default:
		return l.decideMore(cmd)
	}
}

// decideMore is the second half of the dispatch, split to keep functions short.
func (l *Ledger) decideMore(cmd Command) ([]Event, *Error) {
	switch c := cmd.(type) {
	case IssueLoan:
		return single(l.decideIssueLoan(c))
	case RepayLoan:
		return single(l.decideRepayLoan(c))
	case PayInterestSubsidy:
		return single(l.decidePayInterestSubsidy(c))
	case DeclareDefault:
		return single(l.decideDeclareDefault(c))
	case CompensateLoan:
		return single(l.decideCompensateLoan(c))
	case RecoverLoan:
		return single(l.decideRecoverLoan(c))
	case WriteOffLoan:
		return single(l.decideWriteOffLoan(c))
	case CloseLoan:
		return single(l.decideCloseLoan(c))
	default:
		return l.decideRest(cmd)
	}
}

func (l *Ledger) decideRest(cmd Command) ([]Event, *Error) {
	switch c := cmd.(type) {
	case RecordPlacement:
		return single(l.decideRecordPlacement(c))
	case EndPlacement:
		return single(l.decideEndPlacement(c))
	case ReversePlacement:
		return single(l.decideReversePlacement(c))
	case RecordTraining:
		return single(l.decideRecordTraining(c))
	case SetTarget:
		return single(l.decideSetTarget(c))
	case ReportStatistic:
		return single(l.decideReportStatistic(c))
	case SetLoanPolicy:
		return single(l.decideSetLoanPolicy(c))
	case RecordCheckpoint:
		return single(l.decideRecordCheckpoint(c))
	default:
		return l.decideOversight(cmd)
	}
}

// decideOversight decides the commands of maker-checker and audited reads.
func (l *Ledger) decideOversight(cmd Command) ([]Event, *Error) {
	switch c := cmd.(type) {
	case RequestApproval:
		return l.decideRequestApproval(c)
	case ApproveRequest:
		return l.decideApproveRequest(c)
	case RejectRequest:
		return single(l.decideRejectRequest(c))
	case RecordRead:
		return single(l.decideRecordRead(c))
	default:
		panic(unknownCommand(cmd))
	}
}

func single[E Event](e E, err *Error) ([]Event, *Error) {
	if err != nil {
		return nil, err
	}
	return []Event{e}, nil
}

// first returns the first non-nil error: for independent shape checks.
func first(errs ...*Error) *Error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// text refuses a required text that is empty, too long or not UTF-8.
func text(field, s string, maxBytes int) *Error {
	if s == "" {
		return fail(ErrRequired, field, "")
	}
	return optionalText(field, s, maxBytes)
}

func optionalText(field, s string, maxBytes int) *Error {
	if len(s) > maxBytes {
		return fail(ErrTooLong, field, "at most %d bytes", maxBytes)
	}
	if !utf8.ValidString(s) {
		return fail(ErrUnknownValue, field, "not UTF-8")
	}
	return nil
}

func date(field string, d Date) *Error {
	if d.IsZero() {
		return fail(ErrRequired, field, "")
	}
	return nil
}

// period refuses a period without a start or ending before it starts; a zero end is open.
func period(fromField, toField string, from, to Date) *Error {
	if from.IsZero() {
		return fail(ErrRequired, fromField, "")
	}
	if !to.IsZero() && to.Before(from) {
		return fail(ErrDateRange, toField, "%s is before %s", to, from)
	}
	return nil
}

// notBefore refuses a date before the event it follows.
func notBefore(field string, d, origin Date) *Error {
	if d.Before(origin) {
		return fail(ErrDateBeforeOriginal, field, "%s is before %s", d, origin)
	}
	return nil
}

// existingRegion refuses a malformed or unknown region code.
func (l *Ledger) existingRegion(field, code string) *Error {
	if code == "" {
		return fail(ErrRequired, field, "")
	}
	if err := ValidateRegionCode(code); err != nil {
		return fail(ErrRegionCodeFormat, field, "%q", code)
	}
	if !l.regions.has(code) {
		return fail(ErrRegionNotFound, field, "%s", code)
	}
	return nil
}

func (l *Ledger) existingFund(field, id string) (fund, *Error) {
	if err := checkID(field, id); err != nil {
		return fund{}, err
	}
	f, ok := l.funds.get(id)
	if !ok {
		return fund{}, fail(ErrFundNotFound, field, "%s", id)
	}
	return f, nil
}

func (l *Ledger) existingBeneficiary(field, id string) (beneficiary, *Error) {
	if err := checkID(field, id); err != nil {
		return beneficiary{}, err
	}
	b, ok := l.beneficiaries.get(id)
	if !ok {
		return beneficiary{}, fail(ErrBeneficiaryNotFound, field, "%s", id)
	}
	return b, nil
}

// fundKind refuses a fund of the wrong kind.
func fundKind(field string, f fund, want FundKind) *Error {
	if f.kind != want {
		return fail(ErrFundKind, field, "fund is %s, needs %s", f.kind, want)
	}
	return nil
}

// covers refuses an amount larger than the fund's balance.
func covers(field string, f fund, amount decimal.Decimal) *Error {
	if f.balance.LessThan(amount) {
		return fail(ErrFundOverdrawn, field, "balance %s, amount %s", f.balance, amount)
	}
	return nil
}
