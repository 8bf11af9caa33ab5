// Package domain is the heart of the ledger of employment subsidies and
// guaranteed startup loans: events, commands, the write-side state (Ledger)
// with its pure Decide and its Evolve, every business rule, money and the
// national identifier checks. It does no I/O and reads no clock and no
// randomness: dates, ids and actors come in with the commands.
//
// # Deciders
//
// Ledger.Decide(command) checks a command against the state and returns the
// events that record it, or an *Error (class Invalid, NotFound, Conflict or
// Refused, the field at fault and a sentinel Rule for errors.Is). It never
// changes the state. Ledger.Evolve(event) applies a recorded event and never
// fails; an event the rules could not have produced is a programmer error and
// panics. Folding a log is a loop over Evolve, starting from NewLedger.
//
// # Consistency boundary: the whole ledger, behind one sequencer
//
// The invariants cross what would be aggregates in a textbook design: a
// subsidy payment touches a fund's balance, a program's period, a person's
// categories and the person's per-program count; a write-off touches a loan,
// a reserve fund and the guarantee fund; a loan's cap depends on the policy
// version in force. Splitting these into per-aggregate streams would need
// multi-stream optimistic concurrency for every command, or sagas that let a
// fund dip below zero for a moment. Instead the whole Ledger is one
// consistency boundary: one sequencer per log decides every command, in
// arrival order, against the whole in-memory Ledger, evolves the events
// tentatively (Mark, then Evolve; Rollback if the append fails), and appends
// the batch only if the log head is still the one it decided against. So every
// rule is checked against one consistent state, and the log head is the only
// optimistic-concurrency guard needed between servers. The state is small (a
// few hundred bytes per fund, person, loan or placement), so it fits in memory
// for any city's workload, and Decide+Evolve costs microseconds (see the
// BenchmarkDecide... benchmarks), far below the cost of a durable append.
//
// Mark and Rollback keep an undo journal: while marked, every write to a state
// table first records the entry's old value, so a rollback costs one map write
// per entry touched by the discarded batch.
//
// # Accounts and postings (double entry)
//
// Every event that moves money returns balanced postings from Postings: each
// moves a positive Amount From one account To another, and an account's
// balance is its postings in minus its postings out. The trial balance over
// all accounts is therefore zero at every position of the log. Accounts:
//
//	budget:REGION     the region's public budget, source of allocations (negative)
//	fund:ID           a fund; its balance is the fund's balance, never negative
//	beneficiary:ID    subsidies a person or enterprise received, net of reversals
//	bank:NAME         a lending bank (negative: lent and not yet returned)
//	loan:ID           a loan; its balance is the outstanding principal
//	interest:LOANID   interest subsidies in, interest paid to the bank out
//	writeoff:LOANID   principal written off as a loss
//
// The movements:
//
//	FundAllocated        budget:REGION -> fund:ID
//	SubsidyPaid          fund:F -> beneficiary:B
//	SubsidyReversed      beneficiary:B -> fund:F        (points at payment_id)
//	LoanIssued           bank:NAME -> loan:ID           principal
//	LoanRepaid           loan:ID -> bank:NAME           principal
//	                     interest:ID -> bank:NAME       interest
//	InterestSubsidyPaid  fund:F -> interest:ID
//	LoanCompensated      fund:G -> bank:NAME            the guarantee fund pays the bank (代偿)
//	LoanRecovered        loan:ID -> fund:G              recovered from the borrower (追偿)
//	LoanWrittenOff       loan:ID -> writeoff:ID         the bad debt leaves the loan
//	                     fund:R -> fund:G               the reserve makes the guarantee fund whole
//
// So a loan's account balance is principal − repaid − recovered − written off,
// its outstanding principal. Of that, the borrower owes the bank
// principal − repaid − compensated and the guarantee fund
// compensated − recovered − written off.
//
// # Loans
//
// A loan is issued (cap by borrower kind from the policy version in force on
// the issue date, term at most 36 months, 24 for enterprises; a waived
// counter-guarantee needs a credit village or a poverty-labour borrower),
// repaid, subsidised (never while in default), may default, be compensated by
// its guarantee fund (only in default, at most what is owed to the bank),
// recovered (at most what is owed to the guarantee fund), written off (the
// whole remaining debt, once it is all owed to the guarantee fund, charged to
// a bad_debt_reserve fund under an approval document) and closed (when nothing
// is outstanding). After a write-off only CloseLoan is accepted; after closing
// nothing is.
//
// # Privacy
//
// Events carry a pseudonymous beneficiary_id (Pseudonym: HMAC-SHA256 of the
// ID number under a key held outside the log) and an opaque encrypted
// personal-data blob; the plaintext ID number reaches Decide only to have its
// checksum verified and never enters an event.
package domain
