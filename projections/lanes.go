package projections

import "github.com/hrss-ledger/ledger/domain"

// Two lanes. During a catch-up one goroutine would apply every event;
// instead the real-name counting of placements and trainings (the covers
// lane: persons, their covers, the counts of the indicators they carry)
// runs on a goroutine of its own beside everything else (the main lane:
// the event list, postings, funds, loans, subsidies, targets). Each lane
// applies its part of a batch in log order, and the parts touch disjoint
// state, so the result is the one a single goroutine reaches:
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

// Indicators the main lane adds to.
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
	case domain.SubsidiesPaidAmount, domain.LoansIssuedCount, domain.LoansIssuedAmount,
		domain.LoansPoorVillagesCount, domain.LoansPoorVillagesAmount:
		return true
	}
	return false
}

// coverLane applies the covers lane's part of batches on its own goroutine,
// up to laneLag batches behind the main lane: joining after every batch
// left the main lane waiting while the covers lane waited for a core.
type coverLane struct {
	work   chan laneJob
	done   chan struct{}
	queued int // batches handed over and not yet waited for
}

// laneLag is how many batches the covers lane may hold.
const laneLag = 16

type laneJob struct {
	s     *state
	batch []decoded
}

// startCoverLane starts the covers lane; stop ends it.
func startCoverLane() (lane *coverLane, stop func()) {
	lane = &coverLane{work: make(chan laneJob, laneLag), done: make(chan struct{}, laneLag)}
	go func() {
		for j := range lane.work {
			j.s.applyCoversOf(j.batch)
			lane.done <- struct{}{}
		}
	}()
	return lane, func() { close(lane.work) }
}

// send hands the lane a batch, waiting while it holds laneLag.
func (l *coverLane) send(j laneJob) {
	if l.queued == laneLag {
		<-l.done
		l.queued--
	}
	l.work <- j
	l.queued++
}

// join waits until the lane has applied every batch it was handed.
func (l *coverLane) join() {
	for ; l.queued > 0; l.queued-- {
		<-l.done
	}
}

// applyCoversOf applies the covers lane's part of a batch.
func (s *state) applyCoversOf(batch []decoded) {
	for i := range batch {
		b := &batch[i]
		s.applyCovers(b.env.Pos, b.env.Day, b.ev)
	}
}

// applyAll applies a batch of admitted events (no error, no gap), on both
// lanes when lane is not nil and the batch allows it.
func (s *state) applyAll(batch []decoded, lane *coverLane) {
	if lane == nil || len(batch) < minLaneEvents || s.dirty != nil || !s.lanesApart(batch) {
		if lane != nil {
			lane.join() // its batches come first
		}
		for i := range batch {
			s.apply(batch[i].env, batch[i].ev)
		}
		return
	}
	lane.send(laneJob{s: s, batch: batch})
	for i := range batch {
		s.applyMain(batch[i].env, batch[i].ev)
	}
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
		if _, ok := s.RegionIdx[code]; !ok {
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
