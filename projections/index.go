package projections

import (
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"
)

// The indexes by name (AccountIdx, PersonKeys, Loans) and the numbers
// that sealed segments record.
//
// A rebuild from sealed segments takes each account, person and loan by
// the number the segment recorded for it (its hint), so that it needs no
// lookup by name. A hint that names an existing one is checked against it:
// a person's packed id exactly, a loan's id (loanRecord), an account's
// name by a 64-bit fingerprint kept on the account (comparing the names
// would fetch a second cache line per posting). A hint that fails its
// check costs the lookup it was to save.
//
// A hint that opens a new account of a beneficiary, a new person or a new
// loan, the next number, is taken without looking the name up, and the
// name goes into its index later, in bulk, when a lookup, a query, a
// snapshot or the end of a catch-up needs the index whole. Indexing then checks that
// each such name was indeed new; one already there means the segment was
// numbered from another state, and the catch-up throws the views away
// and reads the log instead (misnumbered). A rebuild of a million events
// spends about a sixth less time this way.

// misnumbered records a name that a sealed segment opened again: one
// field per kind, so that the lanes never write the same one.
type misnumbered struct {
	account, loan, person string
}

// err is the first name opened twice, nil when none was.
func (m *misnumbered) err() error {
	switch {
	case m.account != "":
		return fmt.Errorf("%w: account %q opened twice", errSegment, m.account)
	case m.loan != "":
		return fmt.Errorf("%w: loan %q opened twice", errSegment, m.loan)
	case m.person != "":
		return fmt.Errorf("%w: person %q opened twice", errSegment, m.person)
	}
	return nil
}

// fpSeed seeds the accounts' fingerprints: they live only in memory (set
// again from the names when a snapshot is read), so any seed will do.
var fpSeed = maphash.MakeSeed()

// accountFP is the fingerprint of the account of kind k and owner id: of
// the id, told apart by kind (hashing the name, prefix and id, cost twice as much).
func accountFP(k acctKind, id string) uint64 {
	return maphash.String(fpSeed, id) ^ (uint64(k)+1)*0x9e3779b97f4a7c15
}

// nameFP is accountFP of the account named name; an account of no known
// kind gets one no hint matches.
func nameFP(name string) uint64 {
	for k, prefix := range acctPrefixes {
		if id, ok := strings.CutPrefix(name, prefix); ok {
			return accountFP(acctKind(k), id)
		}
	}
	return maphash.String(fpSeed, name)
}

// is reports whether the account is (but for a fingerprint collision, one
// in 2^64) the one r names.
func (a *account) is(r acctRef) bool {
	return a.fp == accountFP(r.kind, r.id)
}

// indexAccounts puts the accounts opened since the last call into
// AccountIdx (the main lane's).
func (s *state) indexAccounts() {
	s.AccountIdx = roomFor(s.AccountIdx, s.Accounts.N-s.accountsIndexed)
	for a := s.accountsIndexed; a < s.Accounts.N; a++ {
		name := *s.AccountNames.at(a)
		if _, dup := s.AccountIdx[name]; dup {
			s.misnumbered.account = name
			continue
		}
		s.AccountIdx[name] = int32(a)
	}
	s.accountsIndexed = s.Accounts.N
}

// indexLoans puts the loans opened since the last call into Loans (the
// main lane's).
func (s *state) indexLoans() {
	s.Loans = roomFor(s.Loans, len(s.loanList)-s.loansIndexed)
	for _, l := range s.loanList[s.loansIndexed:] {
		if _, dup := s.Loans[l.ID]; dup {
			s.misnumbered.loan = l.ID
			continue
		}
		s.Loans[l.ID] = l
	}
	s.loansIndexed = len(s.loanList)
}

// listLoans numbers the loans of a snapshot's Loans by their Num. Numbers
// that are not 0..n-1 once each (a damaged snapshot) are given again, in
// the order of the ids: hints then fail their checks, and cost lookups.
func (s *state) listLoans() {
	s.loanList = make([]*loan, len(s.Loans))
	whole := true
	for _, l := range s.Loans {
		if n := int(l.Num); n >= 0 && n < len(s.loanList) && s.loanList[n] == nil {
			s.loanList[n] = l
		} else {
			whole = false
		}
	}
	if !whole {
		ids := slices.Sorted(maps.Keys(s.Loans))
		for n, id := range ids {
			s.loanList[n] = s.Loans[id]
			s.loanList[n].Num = int32(n)
		}
	}
	s.loansIndexed = len(s.loanList)
}

// indexPersons puts the persons opened since the last call into
// PersonKeys (the covers lane's). Only a person whose id packs is opened
// unindexed (hintedPerson).
func (s *state) indexPersons() {
	s.PersonKeys = roomFor(s.PersonKeys, len(s.Persons)-s.personsIndexed)
	for p := s.personsIndexed; p < len(s.Persons); p++ {
		k := s.Persons[p].id
		if _, dup := s.PersonKeys[k]; dup {
			s.misnumbered.person = unpackID(k)
			continue
		}
		s.PersonKeys[k] = int32(p)
	}
	s.personsIndexed = len(s.Persons)
}

// completeIndexes makes the indexes whole and reports a name a sealed
// segment opened twice. The caller holds the write lock, or the read lock
// (queries, snapshots): then no lane runs, and indexMu keeps readers from
// completing them at once.
func (s *state) completeIndexes() error {
	s.indexMu.Lock()
	defer s.indexMu.Unlock()
	if s.accountsIndexed == s.Accounts.N && s.loansIndexed == len(s.loanList) && s.personsIndexed == len(s.Persons) {
		return s.misnumbered.err() // the common case of a query
	}
	var wg sync.WaitGroup
	wg.Go(s.indexPersons) // the lanes' state apart: on both cores
	s.indexAccounts()
	s.indexLoans()
	wg.Wait()
	return s.misnumbered.err()
}

// roomFor returns m, or, when extra outnumbers its entries, a copy of it
// with room for extra more: a bulk insert then grows no table on the way.
func roomFor[K comparable, V any](m map[K]V, extra int) map[K]V {
	if extra <= len(m) {
		return m
	}
	bigger := make(map[K]V, len(m)+extra)
	maps.Copy(bigger, m)
	return bigger
}
