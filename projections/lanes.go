package projections

import "github.com/hrss-ledger/ledger/domain"

// Two lanes. During a catch-up one goroutine would apply every event;
// instead the real-name counting of placements and trainings (the covers
// lane: persons, their covers, the counts of the indicators they carry)
// and the amounts paid of subsidies run on a goroutine of their own beside
// everything else (the main lane: the event list, postings, funds, loans,
// targets). Each lane applies its part of a batch in log order, and the
// parts touch disjoint state, so the result is the one a single goroutine
// reaches:
//   - persons and covers belong to the covers lane (the main lane finds a
//     beneficiary's account by its name, not through the person);
//   - each lane reaches a region's years through a cache of its own, and
//     adds to different indicators of them; Years, shared, is locked;
//   - the region tree is only read: a batch that would add or change a
//     region, carries a placement counting for an indicator of the main
//     lane, or is watched by publishers (dirty marks), is applied by one
//     goroutine.

// minLaneEvents is the smallest batch worth handing half of to the covers lane.
const minLaneEvents = 64

// Indicators the main lane adds to, and the covers lane's amounts paid.
var (
	indSubsidiesPaidAmount     = indicatorIdx[domain.SubsidiesPaidAmount]
	indLoansIssuedCount        = indicatorIdx[domain.LoansIssuedCount]
	indLoansIssuedAmount       = indicatorIdx[domain.LoansIssuedAmount]
	indLoansPoorVillagesCount  = indicatorIdx[domain.LoansPoorVillagesCount]
	indLoansPoorVillagesAmount = indicatorIdx[domain.LoansPoorVillagesAmount]
)

// mainLaneIndicator reports the indicators the main lane adds to.
func mainLaneIndicator(ind domain.Indicator) bool {
	switch ind {
	case domain.LoansIssuedCount, domain.LoansIssuedAmount, domain.LoansPoorVillagesCount, domain.LoansPoorVillagesAmount:
		return true
	}
	return false
}

// coverLane applies the covers lane's part of batches on its own goroutine,
// up to laneLag batches behind the main lane: joining after every batch
// left the main lane waiting while the covers lane waited for a core. The
// lane is handed its own copy of the few events it reads (coverEvent), so
// that the batch itself can be reused as soon as the main lane is done.
type coverLane struct {
	work    chan laneJob
	done    chan struct{}
	pending [][]coverEvent // handed over, not yet applied, oldest first
	free    [][]coverEvent // applied, for reuse
	// onFinished, if set, is shown each batch the lane has applied, with
	// the persons it found (on the main lane's goroutine).
	onFinished func([]coverEvent)
}

// laneLag is how many batches the covers lane may hold.
const laneLag = 16

type laneJob struct {
	s      *state
	events []coverEvent
}

// coverEvent is an event of the covers lane, as the lane needs it.
type coverEvent struct {
	pos    uint64
	day    day
	ev     domain.Event
	person int32 // the beneficiary's number, found by the lane (applyCoverEvents)
	hint   int32 // that number + 1, from a sealed segment or found by the lane; 0: unknown
}

// startCoverLane starts the covers lane; stop ends it.
func startCoverLane() (lane *coverLane, stop func()) {
	lane = &coverLane{work: make(chan laneJob, laneLag), done: make(chan struct{}, laneLag)}
	go func() {
		for j := range lane.work {
			j.s.applyCoverEvents(j.events)
			lane.done <- struct{}{}
		}
	}()
	return lane, func() { close(lane.work) }
}

// send hands the lane the covers part of a batch, waiting while it holds laneLag.
func (l *coverLane) send(s *state, batch []decoded) {
	if len(l.pending) == laneLag {
		l.finished()
	}
	var events []coverEvent
	if n := len(l.free); n > 0 {
		events, l.free = l.free[n-1][:0], l.free[:n-1]
	}
	events = appendCoverEvents(events, batch)
	l.pending = append(l.pending, events)
	l.work <- laneJob{s: s, events: events}
}

// finished waits for the oldest batch handed over and takes its events back.
func (l *coverLane) finished() {
	<-l.done
	events := l.pending[0]
	if l.onFinished != nil {
		l.onFinished(events)
	}
	clear(events) // drops the references to the decoded events
	l.free = append(l.free, events)
	l.pending = l.pending[1:]
}

// join waits until the lane has applied every batch it was handed.
func (l *coverLane) join() {
	for len(l.pending) > 0 {
		l.finished()
	}
}

// appendCoverEvents appends the events of a batch the covers lane applies.
func appendCoverEvents(events []coverEvent, batch []decoded) []coverEvent {
	for i := range batch {
		switch batch[i].ev.(type) {
		case domain.PlacementRecorded, domain.PlacementReversed, domain.TrainingRecorded, domain.SubsidyPaid, domain.SubsidyReversed:
			events = append(events, coverEvent{pos: batch[i].env.Pos, day: batch[i].env.Day, ev: batch[i].ev,
				hint: batch[i].hints.person})
		}
	}
	return events
}

// applyCoverEvents applies the covers lane's part of a batch. A first pass
// finds each event's person and reads some of their covers: those reads are
// independent of each other, so the processor overlaps their cache misses,
// which the work proper (one person after the other) would take in turn.
func (s *state) applyCoverEvents(events []coverEvent) {
	for i := range events {
		events[i].person = -1 // a subsidy's beneficiary is not counted
		if id, ok := countedPerson(events[i].ev); ok {
			events[i].person = s.hintedPerson(id, &events[i].hint)
		}
	}
	var years int16
	for i := range events {
		if p := events[i].person; p >= 0 {
			if cs := s.Persons[p].Covers; len(cs) > 0 {
				// The ends and the middle: the lines keyRange's searches read first.
				years += cs[0].Year + cs[len(cs)/2].Year + cs[len(cs)-1].Year
			}
		}
	}
	s.warmed += years
	for i := range events {
		e := &events[i]
		if e.person < 0 {
			s.coverSubsidy(e.pos, e.day, e.ev)
			continue
		}
		s.applyCoversTo(e.person, e.pos, e.day, e.ev)
	}
}

// countedPerson returns the person of an event that real-name counting
// counts (a placement, its reversal, a training); ok is false for others.
func countedPerson(ev domain.Event) (id string, ok bool) {
	switch e := ev.(type) {
	case domain.PlacementRecorded:
		return e.BeneficiaryID, true
	case domain.PlacementReversed:
		return e.BeneficiaryID, true
	case domain.TrainingRecorded:
		return e.BeneficiaryID, true
	}
	return "", false
}

// applyAll applies a batch of admitted events (no error, no gap), on both
// lanes when lane is not nil and the batch allows it.
func (s *state) applyAll(batch []decoded, lane *coverLane) {
	if lane == nil || len(batch) < minLaneEvents || s.dirty != nil || !s.lanesApart(batch) {
		if lane != nil {
			lane.join() // its batches come first
		}
		for i := range batch {
			s.apply(batch[i].env, batch[i].ev, &batch[i].hints)
		}
		return
	}
	lane.send(s, batch)
	s.warmAccounts(batch)
	for i := range batch {
		s.applyMain(batch[i].env, batch[i].ev, &batch[i].hints)
	}
}

// warmAccounts reads the accounts that the hints of a batch name, the end
// of each one's history and of its loan's life, as the covers lane's first pass reads
// its persons: those reads are independent of each other, so the processor
// overlaps their cache misses, which the postings would take in turn.
func (s *state) warmAccounts(batch []decoded) {
	var sum int64
	n := int32(s.Accounts.N)
	for i := range batch {
		for _, h := range batch[i].hints.accounts {
			if h <= 0 || h >= n {
				continue
			}
			acc := s.Accounts.at(int(h))
			sum += acc.Balance
			if c := acc.Entries.Chunks; len(c) > 0 {
				if e := c[len(c)-1].Entries; len(e) > 0 {
					sum += e[len(e)-1].Amount
				}
			}
			if l := acc.loan; l != nil && len(l.Events) > 0 {
				sum += l.Events[len(l.Events)-1].Amount
			}
		}
	}
	s.warmedMain += sum
}

// lanesApart reports whether the lanes may apply the batch side by side:
// every region it names exists, none is defined, and no placement counts
// for an indicator of the main lane.
func (s *state) lanesApart(batch []decoded) bool {
	for i := range batch {
		code, inds := "", []domain.Indicator(nil)
		switch e := batch[i].ev.(type) {
		default:
			continue // names no region
		case domain.RegionDefined:
			return false
		case domain.PlacementRecorded:
			code, inds = e.RegionCode, e.Indicators
		case domain.PlacementReversed:
			code, inds = e.RegionCode, e.Indicators
		case domain.TrainingRecorded:
			code = e.RegionCode
		case domain.SubsidyPaid:
			code = e.RegionCode
		case domain.SubsidyReversed:
			code = e.RegionCode
		case domain.LoanIssued:
			code = e.RegionCode
		case domain.FundAllocated:
			code = e.RegionCode
		case domain.TargetSet:
			code = e.RegionCode
		case domain.StatisticReported:
			code = e.RegionCode
		}
		if !s.known(&s.mainRegions, code) {
			return false
		}
		for _, ind := range inds {
			if mainLaneIndicator(ind) {
				return false
			}
		}
	}
	return true
}
