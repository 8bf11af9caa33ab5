package projections

import (
	"slices"
	"sort"

	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/domain"
)

// envelope is the part of an eventstore.Event the views keep, decoupled from
// the store's type so that decoding can run on other goroutines.
type envelope struct {
	Pos  uint64
	ID   uuid.UUID
	Type string
	Hash [32]byte
	Day  day // the business date
	// Business is false for an event that records no business fact: it
	// leaves the views' latest business date alone.
	Business bool
}

// apply folds one decoded event into the state. The caller guarantees that
// positions arrive in increasing order and each exactly once.
func (s *state) apply(env envelope, ev domain.Event) {
	d := env.Day
	s.Pos, s.Hash = env.Pos, env.Hash
	if d > s.LastDay && env.Business {
		s.LastDay = d
	}
	s.Events = append(s.Events, eventInfo{Pos: env.Pos, ID: env.ID, Day: d, Type: s.internType(env.Type)})
	if ev == nil {
		return // a kind of event no view reads
	}
	s.post(env.Pos, d, ev)
	switch e := ev.(type) {
	case domain.RegionDefined:
		s.defineRegion(e)
	case domain.FundOpened:
		f := s.fund(e.FundID)
		f.Name, f.Kind, f.Region = e.Name, string(e.Kind), e.RegionCode
		s.dirty.mark(viewFunds, e.FundID, 0)
	case domain.SubsidyPaid:
		s.subsidy(env.Pos, d, e.RegionCode, fen(e.Amount))
	case domain.SubsidyReversed:
		s.subsidy(env.Pos, d, e.RegionCode, -fen(e.Amount))
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
	case domain.PlacementRecorded:
		s.recordPlacement(env.Pos, d, e.BeneficiaryID, e.RegionCode, e.PlacementID, e.Indicators)
	case domain.PlacementReversed:
		s.reversePlacement(d, e)
	case domain.TrainingRecorded:
		s.recordPlacement(env.Pos, d, e.BeneficiaryID, e.RegionCode, e.TrainingID, []domain.Indicator{trainingIndicator(e.CourseKind)})
	case domain.TargetSet:
		s.setTarget(env.Pos, d, e)
	case domain.StatisticReported:
		s.reportStatistic(env.Pos, d, e)
	}
}

// trainingIndicator is the indicator a course counts for.
func trainingIndicator(k domain.CourseKind) domain.Indicator {
	if k == domain.Entrepreneurship {
		return domain.EntrepreneurshipTrainings
	}
	return domain.VocationalTrainings
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
	*list = append(*list, v)
	index[v] = int32(len(*list) - 1)
	return int32(len(*list) - 1)
}

// post records the event's double-entry postings in every account's history
// and in the fund flows.
func (s *state) post(pos uint64, d day, ev domain.Event) {
	postings := domain.Postings(ev)
	if len(postings) == 0 {
		return
	}
	doc := s.intern(&s.Docs, s.docIndex, document(ev))
	_, allocation := ev.(domain.FundAllocated)
	for _, p := range postings {
		amount := fen(p.Amount)
		s.entry(p.From, p.To, pos, -amount, doc)
		s.entry(p.To, p.From, pos, amount, doc)
		if id, ok := fundID(p.From); ok {
			s.fund(id).Flows.add(fundWidth, d, fundRow(fundPaidOut, amount))
			s.dirty.mark(viewFunds, id, 0)
		}
		if id, ok := fundID(p.To); ok {
			col := fundReceived
			if allocation {
				col = fundAllocated
			}
			s.fund(id).Flows.add(fundWidth, d, fundRow(col, amount))
			s.dirty.mark(viewFunds, id, 0)
		}
	}
}

func fundRow(col int, amount int64) []int64 {
	row := make([]int64, fundWidth)
	row[col] = amount
	return row
}

// fundID recognises a fund account name.
func fundID(account string) (string, bool) {
	const prefix = "fund:"
	if len(account) > len(prefix) && account[:len(prefix)] == prefix {
		return account[len(prefix):], true
	}
	return "", false
}

func (s *state) entry(name, counter string, pos uint64, amount int64, doc int32) {
	a := s.Accounts[name]
	if a == nil {
		a = &account{}
		s.Accounts[name] = a
	}
	a.Balance += amount
	a.Entries = append(a.Entries, entry{Pos: pos, Amount: amount, Balance: a.Balance,
		Counter: s.intern(&s.Counters, s.counterIx, counter), Doc: doc})
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

// regionYear returns the progress figures of a node and a year.
func (s *state) regionYear(n int32, year int) *regionYear {
	r := &s.Regions[n]
	for _, ref := range r.years {
		if ref.year == int32(year) {
			return ref.ry
		}
	}
	k := nodeYear{Node: n, Year: int32(year)}
	ry := s.Years[k]
	if ry == nil {
		ry = &regionYear{}
		s.Years[k] = ry
	}
	r.years = append(r.years, yearRef{year: int32(year), ry: ry})
	return ry
}

// addActual adds delta to an indicator of a region and all its ancestors.
func (s *state) addActual(n int32, year int, ind domain.Indicator, d day, delta int64) {
	i := indicatorIdx[ind]
	for ; n >= 0; n = s.Regions[n].Parent {
		s.regionYear(n, year).Actual[i].add1(d, delta)
		s.dirty.mark(viewProgress, s.Regions[n].Code, year)
	}
}

func (s *state) subsidy(pos uint64, d day, regionCode string, amount int64) {
	n := s.node(regionCode)
	s.addActual(n, d.year(), domain.SubsidiesPaidAmount, d, amount)
	s.Subsidies = append(s.Subsidies, contribution{Pos: pos, Node: n, Day: d, Amount: amount})
}

func (s *state) issueLoan(pos uint64, d day, e domain.LoanIssued) {
	n := s.node(e.RegionCode)
	principal := fen(e.Principal)
	l := &loan{ID: e.LoanID, Borrower: e.BorrowerID, Bank: e.Bank, Node: n, Poor: e.PoorVillage, IssueDay: d, IssuePos: pos}
	s.Loans[e.LoanID] = l
	s.loanEvent(e.LoanID, loanEvent{Pos: pos, Day: d, Kind: loanIssued, Amount: principal, Extra: int64(e.JobsCreated)})
	year := d.year()
	s.addActual(n, year, domain.LoansIssuedCount, d, 1)
	s.addActual(n, year, domain.LoansIssuedAmount, d, principal)
	if e.PoorVillage {
		s.addActual(n, year, domain.LoansPoorVillagesCount, d, 1)
		s.addActual(n, year, domain.LoansPoorVillagesAmount, d, principal)
	}
}

// loanEvent appends an event to a loan's life and its portfolio figures to
// the loan's region and every ancestor.
func (s *state) loanEvent(id string, le loanEvent) {
	l := s.Loans[id]
	if l == nil {
		// A loan event before its issue cannot come from the domain; keep it
		// visible on a detached loan rather than drop it.
		l = &loan{ID: id, Node: -1}
		s.Loans[id] = l
	}
	l.Events = append(l.Events, le)
	s.dirty.mark(viewLoans, id, 0)
	var row [portfolioWidth]int64
	if !portfolioRow(le, &row) {
		return
	}
	for n := l.Node; n >= 0; n = s.Regions[n].Parent {
		s.Regions[n].Portfolio.add(portfolioWidth, le.Day, row[:])
		s.dirty.mark(viewPortfolio, s.Regions[n].Code, 0)
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
	s.dirty.mark(viewProgress, s.Regions[n].Code, year)
	if p := s.Regions[n].Parent; p >= 0 {
		s.dirty.mark(viewProgress, s.Regions[p].Code, year)
	}
}

func (s *state) person(id string) int32 {
	if i, ok := s.PersonIdx[id]; ok {
		return i
	}
	i := int32(len(s.PersonIdx))
	s.PersonIdx[id] = i
	return i
}

// recordPlacement counts a person for each indicator of a placement (or a
// training), by real name: once per person, indicator, region and year.
func (s *state) recordPlacement(pos uint64, d day, person, regionCode, id string, inds []domain.Indicator) {
	n := s.node(regionCode)
	p := s.person(person)
	year := d.year()
	hash := idHash(id)
	for _, ind := range inds {
		key := personKey{Person: p, Year: int32(year), Ind: indicatorIdx[ind]}
		s.addCover(key, cover{Node: n, From: d, To: maxDay, Pos: pos, Placement: hash})
	}
}

// reversePlacement stops a placement counting from the reversal date.
func (s *state) reversePlacement(d day, e domain.PlacementReversed) {
	n := s.node(e.RegionCode)
	p := s.person(e.BeneficiaryID)
	year := e.PlacementDate.Year()
	id := idHash(e.PlacementID)
	for _, ind := range e.Indicators {
		key := personKey{Person: p, Year: int32(year), Ind: indicatorIdx[ind]}
		s.recount(key, n, d, func(cs []cover) []cover {
			for i := range cs {
				// The earliest reversal wins: a replay up to any date after
				// it sees the placement reversed.
				if cs[i].Placement == id && d < cs[i].To {
					cs[i].To = d
				}
			}
			return cs
		})
	}
}

// recount changes a person's covers for one key and moves the counts of node
// n and its ancestors by the difference between the old and the new union
// of covers under each of them.
func (s *state) recount(key personKey, n int32, d day, change func([]cover) []cover) {
	old := s.Covers[key]
	before := slices.Clone(old)
	after := change(old)
	s.Covers[key] = after
	s.moveCounts(key, n, before, after)
}

// addCover counts one more placement (or training) of a person.
func (s *state) addCover(key personKey, c cover) {
	after := append(s.Covers[key], c)
	s.Covers[key] = after
	year := int(key.Year)
	switch {
	case len(after) == 1:
		// The common case: a person's first placement for this indicator and year.
		s.addActual(c.Node, year, domain.Indicators[key.Ind], c.From, 1)
	case allOpen(after):
		s.recountOpen(after, c.Node, year, key.Ind)
	default:
		s.moveCounts(key, c.Node, after[:len(after)-1], after)
	}
}

// moveCounts applies, under n and each ancestor, the difference between the
// person's counting before and after a change.
func (s *state) moveCounts(key personKey, n int32, before, after []cover) {
	year := int(key.Year)
	for a := n; a >= 0; a = s.Regions[a].Parent {
		for _, st := range diffSteps(s.steps(before, a), s.steps(after, a)) {
			s.regionYear(a, year).Actual[key.Ind].add1(st.day, st.delta)
		}
		s.dirty.mark(viewProgress, s.Regions[a].Code, year)
	}
}

// allOpen reports whether no cover has been reversed.
func allOpen(cs []cover) bool {
	for _, c := range cs {
		if c.To != maxDay {
			return false
		}
	}
	return true
}

// recountOpen handles one more placement of a person none of whose
// placements was reversed: under each ancestor the person counts from the
// earliest placement under it, so only an earlier start moves the count.
func (s *state) recountOpen(cs []cover, n int32, year int, ind uint8) {
	added := cs[len(cs)-1]
	for a := n; a >= 0; a = s.Regions[a].Parent {
		first, any := maxDay, false
		for _, c := range cs[:len(cs)-1] {
			if c.From < first && s.under(c.Node, a) {
				first, any = c.From, true
			}
		}
		switch {
		case !any:
			s.regionYear(a, year).Actual[ind].add1(added.From, 1)
		case added.From < first:
			s.regionYear(a, year).Actual[ind].add1(added.From, 1)
			s.regionYear(a, year).Actual[ind].add1(first, -1)
		default:
			continue
		}
		s.dirty.mark(viewProgress, s.Regions[a].Code, year)
	}
}

// idHash is FNV-1a of an id: covers keep it instead of the id so that they
// hold no pointers (cheap for the garbage collector); ids are compared only
// among one person's placements for one indicator and year.
func idHash(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}

// step is a change of a count on a day.
type step struct {
	day   day
	delta int64
}

// steps returns the step function "the person counts" for the covers under
// node a: +1 where the union of their intervals starts, -1 where it ends.
func (s *state) steps(cs []cover, a int32) []step {
	var iv [][2]day
	for _, c := range cs {
		if c.From < c.To && s.under(c.Node, a) {
			iv = append(iv, [2]day{c.From, c.To})
		}
	}
	sort.Slice(iv, func(i, j int) bool { return iv[i][0] < iv[j][0] })
	var out []step
	for i := 0; i < len(iv); {
		from, to := iv[i][0], iv[i][1]
		for i++; i < len(iv) && iv[i][0] <= to; i++ {
			to = max(to, iv[i][1])
		}
		out = append(out, step{from, 1})
		if to != maxDay {
			out = append(out, step{to, -1})
		}
	}
	return out
}

// diffSteps returns after - before, merged by day, without zero steps.
func diffSteps(before, after []step) []step {
	sum := map[day]int64{}
	for _, st := range before {
		sum[st.day] -= st.delta
	}
	for _, st := range after {
		sum[st.day] += st.delta
	}
	var out []step
	for d, v := range sum {
		if v != 0 {
			out = append(out, step{d, v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].day < out[j].day })
	return out
}
