package domain

import (
	"errors"
	"fmt"
)

// Class says what kind of refusal an Error is, so that the API can map every
// refusal to one HTTP status in one table.
type Class int

// The classes of refusal.
const (
	// Invalid: the command itself is malformed (bad checksum, money with three
	// decimals, missing field). HTTP 400.
	Invalid Class = iota + 1
	// NotFound: the command names something the ledger does not know. HTTP 404.
	NotFound
	// Conflict: the command clashes with the ledger's state (duplicate id,
	// overdraft, repayment beyond what is owed, loan already closed). HTTP 409.
	Conflict
	// Refused: a business rule says no (loan cap, eligibility, program period,
	// per-beneficiary limit). HTTP 422.
	Refused
)

// String names the class for logs and messages.
func (c Class) String() string {
	switch c {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case Refused:
		return "refused"
	default:
		return fmt.Sprintf("class(%d)", int(c))
	}
}

// Rule is a sentinel naming one rule of the domain. Each rule has a fixed
// class, so a given rule always maps to the same HTTP status.
type Rule struct {
	class Class
	text  string
}

func newRule(class Class, text string) *Rule { return &Rule{class: class, text: text} }

// Error returns the rule's text.
func (r *Rule) Error() string { return r.text }

// Class returns the class every refusal under this rule has.
func (r *Rule) Class() Class { return r.class }

// Error is the one error type of the domain: every refusal by Decide, and every
// parse failure of ParseMoney, ParseDate and the ID validators, is an *Error.
// Callers test the rule with errors.Is(err, domain.ErrFundOverdrawn) and read
// the class and field with errors.As.
type Error struct {
	Class  Class
	Field  string // the command field at fault, snake_case as in the API; "" when none
	Rule   error  // one of the Err... sentinels (a *Rule)
	Detail string // a human explanation with the figures involved
}

// Error formats the refusal for logs.
func (e *Error) Error() string {
	msg := e.Rule.Error()
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return "domain: " + msg
}

// Unwrap exposes the rule so that errors.Is(err, ErrX) works.
func (e *Error) Unwrap() error { return e.Rule }

// fail builds an *Error for rule, with the rule's class.
func fail(rule *Rule, field, format string, args ...any) *Error {
	detail := format
	if len(args) > 0 {
		detail = fmt.Sprintf(format, args...)
	}
	return &Error{Class: rule.class, Field: field, Rule: rule, Detail: detail}
}

// ClassOf returns the class of err when it is (or wraps) an *Error, and 0 otherwise.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return 0
}

// Rules about the shape of input (class Invalid).
var (
	ErrRequired          = newRule(Invalid, "is required")
	ErrTooLong           = newRule(Invalid, "is too long")
	ErrBadID             = newRule(Invalid, "is not a valid identifier (letters, digits, '-' and '_' only)")
	ErrMoneyFormat       = newRule(Invalid, "is not an amount in CNY with at most 2 decimal places")
	ErrAmountNotPositive = newRule(Invalid, "must be greater than zero")
	ErrNegative          = newRule(Invalid, "must not be negative")
	ErrDateFormat        = newRule(Invalid, "is not a date YYYY-MM-DD")
	ErrDateRange         = newRule(Invalid, "ends before it begins")
	ErrIDNumber          = newRule(Invalid, "is not a valid resident ID number (GB 11643)")
	ErrCreditCode        = newRule(Invalid, "is not a valid unified social credit code (GB 32100)")
	ErrRegionCodeFormat  = newRule(Invalid, "is not a region code of 6, 9 or 12 digits")
	ErrUnknownValue      = newRule(Invalid, "is not one of the allowed values")
	ErrAmountRuleShape   = newRule(Invalid, "must set exactly one of fixed and max, greater than zero")
	ErrRateRange         = newRule(Invalid, "is outside the allowed range")
	ErrYearRange         = newRule(Invalid, "is outside the years the ledger accepts")
	ErrPartners          = newRule(Invalid, "partnership loans name at least two distinct partners; other loans none")
)

// Rules about names that must exist (class NotFound).
var (
	ErrRegionNotFound      = newRule(NotFound, "region not found")
	ErrFundNotFound        = newRule(NotFound, "fund not found")
	ErrBeneficiaryNotFound = newRule(NotFound, "beneficiary not found")
	ErrProgramNotFound     = newRule(NotFound, "program not found")
	ErrPaymentNotFound     = newRule(NotFound, "payment not found")
	ErrLoanNotFound        = newRule(NotFound, "loan not found")
	ErrPlacementNotFound   = newRule(NotFound, "placement not found")
)

// Rules about the ledger's state (class Conflict).
var (
	// ErrDuplicateID: the id (region code, fund, program, loan, placement,
	// training, payment) is already taken.
	ErrDuplicateID = newRule(Conflict, "already exists")
	// ErrBeneficiaryExists: the person or enterprise is already registered. The
	// API answers it with 200 and the existing beneficiary_id, not as an error.
	ErrBeneficiaryExists = newRule(Conflict, "beneficiary already registered")
	// ErrFundOverdrawn: the fund's balance is smaller than the amount.
	ErrFundOverdrawn = newRule(Conflict, "fund balance is insufficient")
	// ErrReversalExceedsPaid: more would be reversed than was paid net.
	ErrReversalExceedsPaid = newRule(Conflict, "reversal exceeds what was paid")
	// ErrAlreadyReversed: the payment or placement has been reversed in full.
	ErrAlreadyReversed = newRule(Conflict, "already reversed")
	// ErrExceedsOwed: a repayment, compensation, recovery or write-off beyond what is owed.
	ErrExceedsOwed = newRule(Conflict, "exceeds what is owed")
	// ErrLoanClosed: the loan is closed or written off; nothing more may happen to it.
	ErrLoanClosed = newRule(Conflict, "loan is closed or written off")
	// ErrAlreadyDefaulted: the loan is already in default.
	ErrAlreadyDefaulted = newRule(Conflict, "loan is already in default")
	// ErrNothingOwed: the loan owes the bank nothing, so it cannot default.
	ErrNothingOwed = newRule(Conflict, "nothing is owed")
	// ErrPlacementEnded: the placement has already ended.
	ErrPlacementEnded = newRule(Conflict, "placement already ended")
)

// Business rules (class Refused).
var (
	ErrFundKind               = newRule(Refused, "fund is of the wrong kind")
	ErrAmountRule             = newRule(Refused, "amount does not follow the program's rule")
	ErrProgramPeriod          = newRule(Refused, "date is outside the program's valid period")
	ErrNotEligible            = newRule(Refused, "beneficiary holds no eligible category on that date")
	ErrBeneficiaryLimit       = newRule(Refused, "beneficiary has reached the program's limit")
	ErrLoanCap                = newRule(Refused, "principal exceeds the cap of the loan policy in force")
	ErrLoanTerm               = newRule(Refused, "term exceeds the maximum for the borrower kind")
	ErrBorrowerKind           = newRule(Refused, "borrower does not match the borrower kind")
	ErrCounterGuaranteeWaiver = newRule(Refused, "counter-guarantee may be waived only in a credit village or for poverty labour")
	ErrLoanInDefault          = newRule(Refused, "no interest subsidy while the loan is in default")
	ErrLoanNotInDefault       = newRule(Refused, "the guarantee fund compensates only a loan in default")
	ErrLoanOutstanding        = newRule(Refused, "loan still has outstanding principal")
	ErrWriteOffNotAll         = newRule(Refused, "a write-off covers the whole remaining debt, after compensation")
	ErrDateBeforeOriginal     = newRule(Refused, "date is before the event it follows")
	ErrPolicyUnavailable      = newRule(Refused, "no loan policy is in force on that date")
	ErrNotAPerson             = newRule(Refused, "only a person can be placed or trained")
)
