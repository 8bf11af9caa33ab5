package projections

import (
	"strings"

	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
)

// Postings without account names. domain.Postings names each account by
// concatenating a prefix and an id, two strings per posting; a rebuild
// would build millions of them only to look them up again. legs computes
// the same postings with each account given as its kind and the id of the
// thing it belongs to, and the state keeps each account's number on that
// thing (the fund, the beneficiary, the loan, the bank, the region), so that
// a name is built once per account (TestLegsEqualDomainPostings).

// acctKind is the kind of thing an account belongs to.
type acctKind uint8

// Kinds of account, one per account-name function of the domain.
const (
	acctFund acctKind = iota
	acctBeneficiary
	acctLoan
	acctBank
	acctBudget
	acctInterest
	acctWriteOff
)

// acctRef names an account by its kind and owner.
type acctRef struct {
	kind acctKind
	id   string
}

// name is the account's name as the domain writes it.
func (r acctRef) name() string {
	switch r.kind {
	case acctFund:
		return domain.FundAccount(r.id)
	case acctBeneficiary:
		return domain.BeneficiaryAccount(r.id)
	case acctLoan:
		return domain.LoanAccount(r.id)
	case acctBank:
		return domain.BankAccount(r.id)
	case acctBudget:
		return domain.BudgetAccount(r.id)
	case acctInterest:
		return domain.InterestAccount(r.id)
	case acctWriteOff:
		return domain.WriteOffAccount(r.id)
	}
	panic("projections: unknown account kind")
}

// leg is one posting: amount moves from one account to another.
type leg struct {
	from, to acctRef
	amount   decimal.Decimal
}

// maxLegs is the most postings one event makes.
const maxLegs = 2

// legs returns the postings of an event exactly as domain.Postings does,
// in buf, without building account names; nil for an event that moves no money.
func legs(ev domain.Event, buf *[maxLegs]leg) []leg {
	one := func(fk acctKind, from string, tk acctKind, to string, amount decimal.Decimal) []leg {
		buf[0] = leg{acctRef{fk, from}, acctRef{tk, to}, amount}
		return buf[:1]
	}
	switch e := ev.(type) {
	case domain.FundAllocated:
		return one(acctBudget, e.RegionCode, acctFund, e.FundID, e.Amount)
	case domain.SubsidyPaid:
		return one(acctFund, e.FundID, acctBeneficiary, e.BeneficiaryID, e.Amount)
	case domain.SubsidyReversed:
		return one(acctBeneficiary, e.BeneficiaryID, acctFund, e.FundID, e.Amount)
	case domain.LoanIssued:
		return one(acctBank, e.Bank, acctLoan, e.LoanID, e.Principal)
	case domain.LoanRepaid:
		out := buf[:0]
		// A zero leg is left out, as the domain leaves it out.
		if e.Principal.IsPositive() {
			out = append(out, leg{acctRef{acctLoan, e.LoanID}, acctRef{acctBank, e.Bank}, e.Principal})
		}
		if e.Interest.IsPositive() {
			out = append(out, leg{acctRef{acctInterest, e.LoanID}, acctRef{acctBank, e.Bank}, e.Interest})
		}
		return out
	case domain.InterestSubsidyPaid:
		return one(acctFund, e.FundID, acctInterest, e.LoanID, e.Amount)
	case domain.LoanCompensated:
		return one(acctFund, e.GuaranteeFundID, acctBank, e.Bank, e.Amount)
	case domain.LoanRecovered:
		return one(acctLoan, e.LoanID, acctFund, e.GuaranteeFundID, e.Amount)
	case domain.LoanWrittenOff:
		buf[0] = leg{acctRef{acctLoan, e.LoanID}, acctRef{acctWriteOff, e.LoanID}, e.Amount}
		buf[1] = leg{acctRef{acctFund, e.FundID}, acctRef{acctFund, e.GuaranteeFundID}, e.Amount}
		return buf[:2]
	}
	return nil
}

// acctPrefixes begin the names of the accounts of each kind: a name is
// its kind's prefix and its owner's id.
var acctPrefixes = func() (prefixes [acctWriteOff + 1]string) {
	for k := range prefixes {
		r := acctRef{kind: acctKind(k), id: "x"}
		prefixes[k] = strings.TrimSuffix(r.name(), "x")
		r.id = "B1"
		assert(r.name() == prefixes[k]+"B1", "an account's name is not its kind's prefix and its owner's id")
	}
	return prefixes
}()

// beneficiaryPrefix begins the name of every beneficiary's account.
var beneficiaryPrefix = acctPrefixes[acctBeneficiary]

// eventHints are the numbers a sealed segment records of an event, which
// applying it checks and uses instead of looking them up, or records for
// the sealer where they are unknown.
type eventHints struct {
	// accounts are the numbers of its postings' accounts, the from and to
	// of each leg in turn; 0 where unknown.
	accounts [2 * maxLegs]int32
	// person is the number of its person (a placement, a training) + 1; 0
	// where unknown.
	person int32
	// loan is the number of its loan + 1; 0 where unknown.
	loan int32
}

// hintedAccount is account, trying first the number hints.accounts[i] (a
// sealed segment's: checked against the account's fingerprint, so that a
// wrong hint costs the lookup it was to save, never a wrong posting; or,
// for a beneficiary's account, the next number, a new account, checked
// later: index.go), and recording in hints the number found, for the sealer.
func (s *state) hintedAccount(r acctRef, hints *eventHints, i int) int32 {
	if hints == nil {
		return s.account(r)
	}
	switch h, n := hints.accounts[i], int32(s.Accounts.N); {
	case h <= 0:
	case h < n:
		if acc := s.Accounts.at(int(h)); acc.is(r) {
			if acc.loan != nil {
				s.lastLoan = acc.loan // the loan event's loanRecord finds it
			}
			return h
		}
	case h == n && r.kind == acctBeneficiary:
		// The other kinds keep their number on their owner, which must
		// be found anyway.
		return s.addAccount(r, r.name())
	}
	a := s.account(r)
	hints.accounts[i] = a
	return a
}

// account returns the number of the account r names, opening it at the
// first posting: the number is kept on the account's owner, so that the
// name is built and looked up only then.
func (s *state) account(r acctRef) int32 {
	var slot *int32
	switch r.kind {
	case acctFund:
		slot = &s.fund(r.id).Account
	case acctBeneficiary:
		// Looked up by name, without building it, so that beneficiaries
		// (the covers lane's) are not touched by the main lane.
		s.indexAccounts()
		var buf [64]byte
		name := append(append(buf[:0], beneficiaryPrefix...), r.id...)
		if a, ok := s.AccountIdx[string(name)]; ok {
			return a
		}
		return s.addAccount(r, string(name))
	case acctLoan:
		slot = &s.loanRecord(r.id).Account
	case acctInterest:
		slot = &s.loanRecord(r.id).Interest
	case acctWriteOff:
		slot = &s.loanRecord(r.id).WriteOff
	case acctBudget:
		slot = &s.Regions[s.node(r.id)].Budget
	case acctBank:
		if a, ok := s.BankIdx[r.id]; ok {
			return a
		}
		a := s.addAccount(r, r.name())
		s.BankIdx[r.id] = a
		return a
	}
	if *slot == 0 {
		*slot = s.addAccount(r, r.name())
	}
	return *slot
}

// addAccount adds the account r, named name, which does not exist yet:
// the number kept on its owner (a fund, a loan, a region's budget), in
// BankIdx or in AccountIdx (a beneficiary's) says so. Numbers start at 1
// (0 means "none yet"). The name goes into AccountIdx when the index is
// next completed (index.go).
func (s *state) addAccount(r acctRef, name string) int32 {
	a := int32(s.Accounts.N)
	acc := account{fp: accountFP(r.kind, r.id)}
	switch r.kind {
	case acctFund:
		acc.fund = s.fund(r.id)
	case acctLoan, acctInterest, acctWriteOff:
		acc.loan = s.loanRecord(r.id)
	}
	s.Accounts.add(acc)
	s.AccountNames.add(name)
	return a
}

// loanRecord returns a loan, adding a detached one (no region) for an id
// not issued yet, so that no figure is lost.
func (s *state) loanRecord(id string) *loan {
	// A loan event looks its loan up for each of its postings and for its
	// life: the last one found answers without a map lookup.
	if l := s.lastLoan; l != nil && l.ID == id {
		return l
	}
	s.indexLoans()
	l := s.Loans[id]
	if l == nil {
		// A loan event before its issue cannot come from the domain; keep
		// it visible on a detached loan rather than drop it.
		l = s.newLoan(id)
		s.Loans[l.ID] = l
		s.loansIndexed = len(s.loanList)
	}
	s.lastLoan = l
	return l
}

// newLoan numbers a detached loan of id, which does not exist yet.
func (s *state) newLoan(id string) *loan {
	l := &loan{ID: strings.Clone(id), Num: int32(len(s.loanList)), Node: -1} // kept: see segmentReader.reset
	s.loanList = append(s.loanList, l)
	return l
}

// hintedLoan makes the loan numbered *hint - 1 (a sealed segment's) the
// last looked up, which loanRecord checks by id: a wrong hint costs the
// lookup it was to save. The next number is a new loan, taken without a
// lookup and checked later (index.go). It records in *hint the number
// found + 1, for the sealer.
func (s *state) hintedLoan(id string, hint *int32) {
	switch h := int(*hint) - 1; {
	case h >= 0 && h < len(s.loanList):
		s.lastLoan = s.loanList[h]
	case h == len(s.loanList):
		s.lastLoan = s.newLoan(id)
		return
	}
	*hint = s.loanRecord(id).Num + 1
}

// loanOf returns the loan an event is about, "" for others.
func loanOf(ev domain.Event) string {
	switch e := ev.(type) {
	case domain.LoanIssued:
		return e.LoanID
	case domain.LoanRepaid:
		return e.LoanID
	case domain.InterestSubsidyPaid:
		return e.LoanID
	case domain.LoanDefaulted:
		return e.LoanID
	case domain.LoanCompensated:
		return e.LoanID
	case domain.LoanRecovered:
		return e.LoanID
	case domain.LoanWrittenOff:
		return e.LoanID
	case domain.LoanClosed:
		return e.LoanID
	}
	return ""
}
