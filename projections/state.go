package projections

import (
	"sync"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
)

// state is everything the views know: a pure function of the applied prefix
// of the log. It is kept in plain, index-linked data (no shared pointers) so
// that a snapshot is a faithful gob encoding of it.
type state struct {
	Pos     uint64 // last applied position
	Hash    [32]byte
	LastDay day // latest business date seen: the date of a view without as_of

	Events     chunked[eventInfo] // one per applied event, in log order
	TypeNames  []string
	typeIndex  map[string]uint8
	typeByCode [maxKnownTypes + 1]uint8 // knownTypes number -> index in TypeNames + 1

	Regions   []region
	RegionIdx map[string]int32
	Years     map[nodeYear]*regionYear

	Accounts chunked[account] // by number (chunked: growing copies none); number 0 is no account
	// AccountNames are the accounts' names by number, apart: postings
	// never read them, and an account is then one cache line.
	AccountNames chunked[string]
	AccountIdx   map[string]int32 // account name -> number, for those below accountsIndexed (index.go)
	BankIdx      map[string]int32 // bank name -> its account's number
	Docs         []string         // interned documents (文号)
	docIndex     map[string]int32
	lastDoc      int32

	Funds    map[string]*fund
	Loans    map[string]*loan // for those below loansIndexed (index.go)
	loanList []*loan          // by number (loan.Num); not in snapshots
	lastLoan *loan            // the loan last looked up

	// Beneficiary id -> index into Persons: by the id packed (packID), or
	// by the id itself for one that does not pack.
	PersonKeys map[idKey]int32 // for those below personsIndexed (index.go)
	PersonIdx  map[string]int32
	Persons    []personCovers
	Subsidies  chunked[contribution]

	dirty *dirty // changes since the last publication; nil when nobody listens

	// The indexes by name lag behind what sealed segments opened (index.go).
	accountsIndexed int // main lane's
	loansIndexed    int // main lane's
	personsIndexed  int // covers lane's
	misnumbered     misnumbered
	indexMu         sync.Mutex // completes the indexes for readers

	// saved is 1 + the position of the snapshot on disk that was read or
	// written from this state, 0 for none (snapshot.go).
	saved atomic.Uint64

	// yearsMu guards Years while the two lanes of a catch-up apply a batch
	// (lanes.go); coverYears is the covers lane's cache of it, by node.
	yearsMu    sync.Mutex
	coverYears [][]yearRef

	// The series each lane opened in the batch being applied, settled at
	// its end (series.go).
	opened, coverOpened openSeries

	// Each lane's cache of the region nodes (apply.go), and the covers
	// lane's of the indicators' places (strcache.go).
	mainRegions, coverRegions regionCache
	coverInds                 stringCache[uint8]

	// Scratch buffers of real-name counting, reused from one event to the next.
	spans                   []span
	chain                   []int32
	stepsBefore, stepsAfter []step
	// warmed sums what the covers lane's first pass read (applyCoverEvents),
	// so that the compiler keeps those reads.
	warmed int16
	// warmedMain is warmed for the main lane's first pass (warmAccounts).
	warmedMain int64
}

// eventInfo is what the views keep of every event's envelope. Its position
// is implied: positions are dense from 1 (the store's contract, checked by
// applyBatch), so the event at position p is Events.at(p-1).
type eventInfo struct {
	ID   uuid.UUID
	Day  day
	Doc  int32 // index into Docs of the document the event's postings name
	Type uint8
}

// region is a node of the region tree. Portfolio holds the loan figures of
// its whole subtree (every loan event is added to the region and its ancestors).
type region struct {
	Code, Name string
	Parent     int32 // -1 for a root
	Children   []int32
	Poor       bool
	Portfolio  series // width portfolioWidth
	Budget     int32  // number of the region's budget account, 0 until posted to

	years []yearRef // cache of the state's Years entries of this node (not in snapshots)
}

// yearRef caches one regionYear of a node.
type yearRef struct {
	year int32
	ry   *regionYear
}

// nodeYear keys the progress figures of a region and a year.
type nodeYear struct {
	Node int32
	Year int32
}

// regionYear holds one region's progress figures for one year, each actual a
// series over business days (so that any as_of is a binary search).
type regionYear struct {
	Actual  [numIndicators]series
	Targets [numIndicators][]targetVersion
	Stats   [numIndicators][]statVersion
}

// targetVersion is one TargetSet; the target as of a date is the last one in
// log order dated up to it (exactly what a replay would keep).
type targetVersion struct {
	Pos     uint64
	Day     day
	Issuer  uint8
	Value   decimal.Decimal
	Ceiling bool
}

// statVersion is one StatisticReported, superseded like a target.
type statVersion struct {
	Pos   uint64
	Day   day
	Value decimal.Decimal
}

// account is one double-entry account with its history in log order.
// Its name is in AccountNames; its fields are the ones a posting reads,
// 64 bytes.
type account struct {
	fp      uint64 // fingerprint of its name, which a hint is checked against (index.go)
	Balance int64
	Entries history
	loan    *loan // the loan of a loan's account (principal, interest, write-off)
	fund    *fund // the fund of a fund's account
}

// fund is a fund's description and its flows by business day.
type fund struct {
	ID, Name, Kind, Region string
	Flows                  series // width fundWidth
	Account                int32  // number of the fund's account, 0 until posted to
}

// Columns of fund.Flows.
const (
	fundAllocated = iota
	fundPaidOut
	fundReceived
	fundWidth
)

// loan is one loan's description and its events, folded at query time so
// that any as_of is answered exactly as a replay would.
type loan struct {
	ID, Borrower, Bank string
	Num                int32 // its number, in the order loans were first met
	Node               int32
	Poor               bool // issued in a poor village
	IssueDay           day
	IssuePos           uint64
	Events             []loanEvent
	// Numbers of the loan's accounts (principal, interest, written off),
	// 0 until posted to.
	Account, Interest, WriteOff int32
}

// loanEvent is one event of a loan's life.
type loanEvent struct {
	Pos    uint64
	Day    day
	Kind   uint8
	Amount int64 // principal (issue, repayment), or the amount moved
	Extra  int64 // interest of a repayment; jobs created of an issue
}

// Kinds of loanEvent.
const (
	loanIssued uint8 = iota + 1
	loanRepaid
	loanInterestSubsidy
	loanDefaulted
	loanCompensated
	loanRecovered
	loanWrittenOff
	loanClosed
)

// Columns of region.Portfolio.
const (
	pfIssuedCount = iota
	pfIssuedAmount
	pfOutstanding
	pfRepaid
	pfDefaultedCount
	pfCompensated
	pfRecovered
	pfWrittenOff
	pfJobs
	portfolioWidth
)

// personCovers is one beneficiary as real-name counting sees them.
type personCovers struct {
	// Covers are the person's placements and trainings, sorted by year,
	// indicator and start, so that those of one year and indicator (the
	// unit of real-name counting) are contiguous and in date order.
	Covers []cover
	// id is the person's key in PersonKeys (zero for an id of neither
	// form), which a hint is checked against (hintedPerson). Not in the
	// snapshot: set again from PersonKeys at load.
	id idKey
}

// cover is one placement (or training) of a person counting for an
// indicator in a year from its date until it is reversed (To = maxDay while
// it stands).
type cover struct {
	Pos       uint64
	Placement uint64 // hash of the placement (or training) id, to find it at reversal
	Node      int32
	From, To  day
	// Year is From's year: a domain.Date's year has four digits.
	Year int16
	Ind  uint8
}

// contribution is one subsidy movement behind subsidies_paid_amount.
type contribution struct {
	Pos    uint64
	Node   int32
	Day    day
	Amount int64
}

// numIndicators is the size of the indicator vocabulary (checked at init).
const numIndicators = 17

// indicatorIdx maps an indicator to its place in domain.Indicators.
var indicatorIdx = func() map[domain.Indicator]uint8 {
	assert(len(domain.Indicators) == numIndicators, "indicator vocabulary changed size")
	m := make(map[domain.Indicator]uint8, numIndicators)
	for i, ind := range domain.Indicators {
		m[ind] = uint8(i)
	}
	return m
}()

// issuerIdx maps an issuer to its place in domain.Issuers.
var issuerIdx = func() map[domain.Issuer]uint8 {
	m := make(map[domain.Issuer]uint8, len(domain.Issuers))
	for i, is := range domain.Issuers {
		m[is] = uint8(i)
	}
	return m
}()

func newState() *state {
	s := &state{
		RegionIdx:  map[string]int32{},
		Years:      map[nodeYear]*regionYear{},
		AccountIdx: map[string]int32{},
		BankIdx:    map[string]int32{},
		Funds:      map[string]*fund{},
		Loans:      map[string]*loan{},
		PersonIdx:  map[string]int32{},
		PersonKeys: map[idKey]int32{},
		LastDay:    minDay,

		accountsIndexed: 1, // number 0 is no account
	}
	s.Accounts.add(account{})
	s.AccountNames.add("")
	s.reindex()
	return s
}

// reindex rebuilds the lookup maps that are derived from interned lists (not
// kept in snapshots).
func (s *state) reindex() {
	s.typeIndex = make(map[string]uint8, len(s.TypeNames))
	for i, t := range s.TypeNames {
		s.typeIndex[t] = uint8(i)
	}
	s.docIndex = make(map[string]int32, len(s.Docs))
	for i, d := range s.Docs {
		s.docIndex[d] = int32(i)
	}
	if len(s.Docs) == 0 {
		s.intern(&s.Docs, s.docIndex, "")
	}
	for k, i := range s.PersonKeys {
		if int(i) < len(s.Persons) {
			s.Persons[i].id = k
		}
	}
	s.personsIndexed = len(s.Persons) // PersonKeys is whole in a snapshot
	for _, l := range s.Loans {
		for _, a := range []int32{l.Account, l.Interest, l.WriteOff} {
			if a > 0 && int(a) < s.Accounts.N {
				s.Accounts.at(int(a)).loan = l
			}
		}
	}
	s.listLoans()
	for _, f := range s.Funds {
		if f.Account > 0 && int(f.Account) < s.Accounts.N {
			s.Accounts.at(int(f.Account)).fund = f
		}
	}
}
