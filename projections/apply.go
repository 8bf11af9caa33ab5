package projections

import (
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/domain"
)

// envelope is the part of an eventstore.Event the views keep, decoupled from
// the store's type so that decoding can run on other goroutines.
type envelope struct {
	Pos  uint64
	ID   uuid.UUID
	Type string
	Code uint8 // the type's place in knownTypes + 1; 0 for a type this code does not know
	Hash [32]byte
	Day  day // the business date
	// Business is false for an event that records no business fact: it
	// leaves the views' latest business date alone.
	Business bool
}

// apply folds one decoded event into the state. The caller guarantees that
// positions arrive in increasing order and each exactly once.
func (s *state) apply(env envelope, ev domain.Event, hints *eventHints) {
	s.applyMain(env, ev, hints)
	s.applyCovers(env.Pos, env.Day, ev, hints)
}

// applyMain folds in everything of an event but real-name counting. hints
// (nil: none) are the numbers of its postings' accounts, as a sealed
// segment recorded them; applyMain records there the numbers it finds.
func (s *state) applyMain(env envelope, ev domain.Event, hints *eventHints) {
	d := env.Day
	s.Pos, s.Hash = env.Pos, env.Hash
	if d > s.LastDay && env.Business {
		s.LastDay = d
	}
	s.Events.add(eventInfo{ID: env.ID, Day: d, Type: s.typeOf(env)})
	if ev == nil {
		return // a kind of event no view reads
	}
	if id := loanOf(ev); id != "" && hints != nil {
		s.hintedLoan(id, &hints.loan) // its postings and life find it (loanRecord)
	}
	s.post(env.Pos, d, ev, hints)
	switch e := ev.(type) {
	case domain.RegionDefined:
		s.defineRegion(e)
	case domain.FundOpened:
		f := s.fund(e.FundID)
		f.Name, f.Kind, f.Region = e.Name, string(e.Kind), e.RegionCode
		s.dirty.mark(viewFunds, e.FundID, 0)
	case domain.LoanIssued:
		s.issueLoan(env.Pos, d, e)
	case domain.LoanRepaid:
		s.loanEvent(e.LoanID, loanEvent{Pos: env.Pos, Day: d, Kind: loanRepaid, Amount: fen(e.Principal), Extra: fen(e.Interest)})
	case domain.InterestSubsidyPaid:
		s.loanEvent(e.LoanID, loanEvent{Pos: env.Pos, Day: d, Kind: loanInterestSubsidy, Amount: fen(e.Amount)})
	case domain.LoanDefaulted:
		s.loanEvent(e.LoanID, loanEvent{Pos: env.Pos, Day: d, Kind: loanDefaulted})
	case domain.LoanCompensated:
		s.loanEvent(e.LoanID, loanEvent{Pos: env.Pos, Day: d, Kind: loanCompensated, Amount: fen(e.Amount)})
	case domain.LoanRecovered:
		s.loanEvent(e.LoanID, loanEvent{Pos: env.Pos, Day: d, Kind: loanRecovered, Amount: fen(e.Amount)})
	case domain.LoanWrittenOff:
		s.loanEvent(e.LoanID, loanEvent{Pos: env.Pos, Day: d, Kind: loanWrittenOff, Amount: fen(e.Amount)})
	case domain.LoanClosed:
		s.loanEvent(e.LoanID, loanEvent{Pos: env.Pos, Day: d, Kind: loanClosed})
	case domain.TargetSet:
		s.setTarget(env.Pos, d, e)
	case domain.StatisticReported:
		s.reportStatistic(env.Pos, d, e)
	}
}

// applyCovers folds in the covers lane's part of an event: the real-name
// counting of a placement, its reversal or a training, and the amounts
// paid of a subsidy or its reversal (which the main lane posts); any other
// event it leaves alone.
func (s *state) applyCovers(pos uint64, d day, ev domain.Event, hints *eventHints) {
	id, ok := countedPerson(ev)
	switch {
	case ok && hints != nil:
		s.applyCoversTo(s.hintedPerson(id, &hints.person), pos, d, ev)
	case ok:
		s.applyCoversTo(s.person(id), pos, d, ev)
	default:
		s.coverSubsidy(pos, d, ev)
	}
}

// coverSubsidy applies the covers lane's part of a subsidy or its
// reversal; any other event it leaves alone.
func (s *state) coverSubsidy(pos uint64, d day, ev domain.Event) {
	switch e := ev.(type) {
	case domain.SubsidyPaid:
		s.subsidy(pos, d, e.RegionCode, fen(e.Amount))
	case domain.SubsidyReversed:
		s.subsidy(pos, d, e.RegionCode, -fen(e.Amount))
	}
}

// applyCoversTo is applyCovers of an event of the covers lane whose person
// (p) is known.
func (s *state) applyCoversTo(p int32, pos uint64, d day, ev domain.Event) {
	switch e := ev.(type) {
	case domain.PlacementRecorded:
		s.recordPlacement(p, pos, d, e.RegionCode, e.PlacementID, e.Indicators)
	case domain.PlacementReversed:
		s.reversePlacement(p, d, e)
	case domain.TrainingRecorded:
		s.recordPlacement(p, pos, d, e.RegionCode, e.TrainingID,
			[]domain.Indicator{trainingIndicator(e.CourseKind)})
	}
}

// trainingIndicator is the indicator a course counts for.
func trainingIndicator(k domain.CourseKind) domain.Indicator {
	if k == domain.Entrepreneurship {
		return domain.EntrepreneurshipTrainings
	}
	return domain.VocationalTrainings
}

// knownTypes numbers the event types the domain knows, so that decoding
// (on other goroutines) can tag each event with its type's number and
// applying it need not look its type name up.
var knownTypes = func() map[string]uint8 {
	m := map[string]uint8{}
	for i, t := range domain.EventTypes() {
		assert(i < maxKnownTypes, "too many event types")
		m[t] = uint8(i + 1)
	}
	return m
}()

// maxKnownTypes bounds the domain's event types typeOf caches.
const maxKnownTypes = 254

// typeOf returns the index of an event's type name in TypeNames.
func (s *state) typeOf(env envelope) uint8 {
	if env.Code == 0 {
		return s.internType(env.Type)
	}
	if t := s.typeByCode[env.Code]; t != 0 {
		return t - 1
	}
	t := s.internType(env.Type)
	s.typeByCode[env.Code] = t + 1
	return t
}

func (s *state) internType(t string) uint8 {
	if i, ok := s.typeIndex[t]; ok {
		return i
	}
	assert(len(s.TypeNames) < 255, "too many event types")
	s.TypeNames = append(s.TypeNames, t)
	s.typeIndex[t] = uint8(len(s.TypeNames) - 1)
	return uint8(len(s.TypeNames) - 1)
}

// intern returns the index of v in list, appending it when new.
func (s *state) intern(list *[]string, index map[string]int32, v string) int32 {
	if i, ok := index[v]; ok {
		return i
	}
	v = strings.Clone(v) // kept: not a sealed segment's bytes (segmentReader.reset)
	*list = append(*list, v)
	index[v] = int32(len(*list) - 1)
	return int32(len(*list) - 1)
}

// post records the event's double-entry postings in every account's history
// and in the fund flows.
func (s *state) post(pos uint64, d day, ev domain.Event, hints *eventHints) {
	var buf [maxLegs]leg
	ls := legs(ev, &buf)
	if len(ls) == 0 {
		return
	}
	doc := s.internDoc(document(ev))
	s.Events.at(s.Events.N - 1).Doc = doc
	_, allocation := ev.(domain.FundAllocated)
	for i, l := range ls {
		amount := fen(l.amount)
		from, to := s.hintedAccount(l.from, hints, 2*i), s.hintedAccount(l.to, hints, 2*i+1)
		s.entry(from, to, pos, -amount)
		s.entry(to, from, pos, amount)
		if f := s.Accounts.at(int(from)).fund; f != nil {
			s.fundFlow(f, d, fundPaidOut, amount)
		}
		if f := s.Accounts.at(int(to)).fund; f != nil {
			col := fundReceived
			if allocation {
				col = fundAllocated
			}
			s.fundFlow(f, d, col, amount)
		}
	}
}

// fundFlow adds amount to a column of a fund's flows on day d.
func (s *state) fundFlow(f *fund, d day, col int, amount int64) {
	var row [fundWidth]int64
	row[col] = amount
	if f.Flows.add(fundWidth, d, row[:]) {
		s.opened.funds = append(s.opened.funds, f)
	}
	s.dirty.mark(viewFunds, f.ID, 0)
}

func (s *state) entry(a, counter int32, pos uint64, amount int64) {
	acc := s.Accounts.at(int(a))
	acc.Balance += amount
	acc.Entries.add(pos, amount, counter)
}

// internDoc returns the index of a document; consecutive events often name the same one.
func (s *state) internDoc(doc string) int32 {
	if i := s.lastDoc; int(i) < len(s.Docs) && s.Docs[i] == doc {
		return i
	}
	s.lastDoc = s.intern(&s.Docs, s.docIndex, doc)
	return s.lastDoc
}

// document is the approval document (文号) an event names, if any.
func document(ev domain.Event) string {
	switch e := ev.(type) {
	case domain.FundAllocated:
		return e.Document
	case domain.SubsidyPaid:
		return e.Document
	case domain.SubsidyReversed:
		return e.Document
	case domain.LoanIssued:
		return e.Document
	case domain.InterestSubsidyPaid:
		return e.Document
	case domain.LoanCompensated:
		return e.Document
	case domain.LoanWrittenOff:
		return e.Document
	}
	return ""
}

func (s *state) fund(id string) *fund {
	f := s.Funds[id]
	if f == nil {
		f = &fund{ID: id}
		s.Funds[id] = f
	}
	return f
}

// node returns a region's index, creating a detached node for a code not
// (yet) defined so that no figure is lost.
func (s *state) node(code string) int32 {
	if i, ok := s.RegionIdx[code]; ok {
		return i
	}
	s.Regions = append(s.Regions, region{Code: code, Parent: -1})
	i := int32(len(s.Regions) - 1)
	s.RegionIdx[code] = i
	return i
}

// markRegion marks a region's figures changed, for the publishers; it
// reads the region's code only when one listens.
func (s *state) markRegion(view string, n int32, year int) {
	if s.dirty != nil {
		s.dirty.mark(view, s.Regions[n].Code, year)
	}
}

// regionCache is one lane's memory of the nodes of the region codes it met
// last (strcache.go). Not in snapshots.
type regionCache = stringCache[int32]

// cachedNode is node, through a lane's cache.
func (s *state) cachedNode(c *regionCache, code string) int32 {
	if n, ok := c.get(code); ok {
		return n
	}
	n := s.node(code)
	c.put(code, n)
	return n
}

// known reports whether a region exists, through a lane's cache.
func (s *state) known(c *regionCache, code string) bool {
	if _, ok := c.get(code); ok {
		return true
	}
	n, ok := s.RegionIdx[code]
	if ok {
		c.put(code, n)
	}
	return ok
}

func (s *state) defineRegion(e domain.RegionDefined) {
	n := s.node(e.Code)
	r := &s.Regions[n]
	r.Name, r.Poor = e.Name, e.PoorVillage
	if e.ParentCode != "" && r.Parent < 0 {
		p := s.node(e.ParentCode)
		s.Regions[n].Parent = p
		children := append(s.Regions[p].Children, n)
		sort.Slice(children, func(i, j int) bool { return s.Regions[children[i]].Code < s.Regions[children[j]].Code })
		s.Regions[p].Children = children
	}
}

// under reports whether node n lies in the subtree of a.
func (s *state) under(n, a int32) bool {
	for ; n >= 0; n = s.Regions[n].Parent {
		if n == a {
			return true
		}
	}
	return false
}

// regionYear returns the progress figures of a node and a year, through
// the node's cache of the main lane.
func (s *state) regionYear(n int32, year int) *regionYear {
	return s.yearOf(&s.Regions[n].years, n, year)
}

// coverYear is regionYear through the cache of the covers lane (see
// lanes.go), so that the two lanes never write the same cache.
func (s *state) coverYear(n int32, year int) *regionYear {
	if int(n) >= len(s.coverYears) {
		s.coverYears = append(s.coverYears, make([][]yearRef, len(s.Regions)-len(s.coverYears))...)
	}
	return s.yearOf(&s.coverYears[n], n, year)
}

// yearOf looks a node's year up in a cache, then in Years (shared by the
// lanes, hence the lock), adding it when new.
func (s *state) yearOf(cache *[]yearRef, n int32, year int) *regionYear {
	// From the last: a log runs forward in time, so the year asked for is
	// most often the latest one cached.
	c := *cache
	for i := len(c) - 1; i >= 0; i-- {
		if c[i].year == int32(year) {
			return c[i].ry
		}
	}
	k := nodeYear{Node: n, Year: int32(year)}
	s.yearsMu.Lock()
	ry := s.Years[k]
	if ry == nil {
		ry = &regionYear{}
		s.Years[k] = ry
	}
	s.yearsMu.Unlock()
	*cache = append(*cache, yearRef{year: int32(year), ry: ry})
	return ry
}

// addActual adds delta to indicator i of a region and all its ancestors.
func (s *state) addActual(n int32, year int, i uint8, d day, delta int64) {
	for ; n >= 0; n = s.Regions[n].Parent {
		if ry := s.regionYear(n, year); ry.Actual[i].add1(d, delta) {
			s.opened.actuals = append(s.opened.actuals, actualRef{ry, i})
		}
		s.markRegion(viewProgress, n, year)
	}
}

// subsidy adds a payment (or, negative, its reversal) to the amounts paid
// of its region and every ancestor: the covers lane's work, which has room
// for it beside the main lane's postings.
func (s *state) subsidy(pos uint64, d day, regionCode string, amount int64) {
	n := s.cachedNode(&s.coverRegions, regionCode)
	s.addCount(n, d.year(), indSubsidiesPaidAmount, d, amount)
	s.Subsidies.add(contribution{Pos: pos, Node: n, Day: d, Amount: amount})
}

func (s *state) issueLoan(pos uint64, d day, e domain.LoanIssued) {
	n := s.cachedNode(&s.mainRegions, e.RegionCode)
	principal := fen(e.Principal)
	l := s.loanRecord(e.LoanID)
	// An issue starts the loan afresh; its accounts, opened by the issue's
	// posting, stay.
	*l = loan{ID: l.ID, Num: l.Num, Borrower: strings.Clone(e.BorrowerID), Bank: e.Bank, Node: n, Poor: e.PoorVillage, IssueDay: d, IssuePos: pos,
		Account: l.Account, Interest: l.Interest, WriteOff: l.WriteOff}
	s.loanEvent(e.LoanID, loanEvent{Pos: pos, Day: d, Kind: loanIssued, Amount: principal, Extra: int64(e.JobsCreated)})
	year := d.year()
	s.addActual(n, year, indLoansIssuedCount, d, 1)
	s.addActual(n, year, indLoansIssuedAmount, d, principal)
	if e.PoorVillage {
		s.addActual(n, year, indLoansPoorVillagesCount, d, 1)
		s.addActual(n, year, indLoansPoorVillagesAmount, d, principal)
	}
}

// loanEvent appends an event to a loan's life and its portfolio figures to
// the loan's region and every ancestor.
func (s *state) loanEvent(id string, le loanEvent) {
	l := s.loanRecord(id)
	l.Events = append(l.Events, le)
	s.dirty.mark(viewLoans, id, 0)
	var row [portfolioWidth]int64
	if !portfolioRow(le, &row) {
		return
	}
	for n := l.Node; n >= 0; n = s.Regions[n].Parent {
		if s.Regions[n].Portfolio.add(portfolioWidth, le.Day, row[:]) {
			s.opened.portfolios = append(s.opened.portfolios, n)
		}
		s.markRegion(viewPortfolio, n, 0)
	}
}

// portfolioRow is a loan event's contribution to the portfolio figures.
func portfolioRow(le loanEvent, row *[portfolioWidth]int64) bool {
	switch le.Kind {
	case loanIssued:
		row[pfIssuedCount], row[pfIssuedAmount], row[pfOutstanding], row[pfJobs] = 1, le.Amount, le.Amount, le.Extra
	case loanRepaid:
		row[pfOutstanding], row[pfRepaid] = -le.Amount, le.Amount
	case loanDefaulted:
		row[pfDefaultedCount] = 1
	case loanCompensated:
		row[pfCompensated] = le.Amount
	case loanRecovered:
		row[pfOutstanding], row[pfRecovered] = -le.Amount, le.Amount
	case loanWrittenOff:
		row[pfOutstanding], row[pfWrittenOff] = -le.Amount, le.Amount
	default:
		return false
	}
	return true
}

func (s *state) setTarget(pos uint64, d day, e domain.TargetSet) {
	n := s.node(e.RegionCode)
	i := indicatorIdx[e.Indicator]
	ry := s.regionYear(n, e.Year)
	ry.Targets[i] = append(ry.Targets[i], targetVersion{Pos: pos, Day: d, Issuer: issuerIdx[e.Issuer],
		Value: e.Value, Ceiling: e.Direction == domain.Ceiling})
	s.markProgressUp(n, e.Year)
}

func (s *state) reportStatistic(pos uint64, d day, e domain.StatisticReported) {
	n := s.node(e.RegionCode)
	i := indicatorIdx[e.Indicator]
	ry := s.regionYear(n, e.Year)
	ry.Stats[i] = append(ry.Stats[i], statVersion{Pos: pos, Day: d, Value: e.Value})
	s.markProgressUp(n, e.Year)
}

// markProgressUp marks a region's progress and its parent's (whose children
// list shows it) as changed.
func (s *state) markProgressUp(n int32, year int) {
	s.markRegion(viewProgress, n, year)
	if p := s.Regions[n].Parent; p >= 0 {
		s.markRegion(viewProgress, p, year)
	}
}
