package projections

import (
	"slices"
	"sort"
)

// series is a step function over business days: for each day on which
// something happened, the cumulative sums (Width figures side by side) of all
// deltas dated up to and including that day. A figure as of any date is then
// one binary search, whatever order the events arrived in.
//
// An event dated after the last day is an append. A back-dated one would
// shift the sums of every later day, which costs a pass over the series per
// event when a log (an import, a month's records entered late) arrives out
// of date order; instead it opens the series: from row From on, rows hold
// each day's own deltas, and settle sums them once, at the end of the batch
// being applied. Only a settled series may be read.
type series struct {
	Days []day
	Cum  []int64 // len(Days)*width, row i holds the sums up to Days[i]

	open bool  // rows from From on hold own deltas, not sums
	from int32 // the first row not summed, when open
}

// add records deltas (len == width) on day d. It reports whether it opened
// the series: the caller then owes it a settle (see openSeries).
func (s *series) add(width int, d day, deltas []int64) (opened bool) {
	n := len(s.Days)
	switch {
	case n > 0 && s.Days[n-1] == d:
		// The last row's sum or own deltas: adding is right for both.
		addRow(s.Cum[(n-1)*width:n*width], deltas)
		return false
	case n == 0 || s.Days[n-1] < d:
		s.Days = append(s.Days, d)
		if n == 0 || s.open {
			s.Cum = append(s.Cum, deltas...)
			return false
		}
		s.Cum = append(s.Cum, s.Cum[(n-1)*width:n*width]...)
		addRow(s.Cum[n*width:], deltas)
		return false
	}
	opened = !s.open
	i := sort.Search(n, func(i int) bool { return s.Days[i] >= d })
	s.unsum(width, i)
	if s.Days[i] != d {
		s.Days = slices.Insert(s.Days, i, d)
		s.Cum = slices.Insert(s.Cum, i*width, make([]int64, width)...)
	}
	addRow(s.Cum[i*width:(i+1)*width], deltas)
	return opened
}

// unsum opens the series from row i: the rows from i to the first already
// open are turned back into their own deltas, last first, so that each
// subtracts a row still summed.
func (s *series) unsum(width, i int) {
	if !s.open {
		s.open, s.from = true, int32(len(s.Days))
	}
	for j := int(s.from) - 1; j >= i && j > 0; j-- {
		row, prev := s.Cum[j*width:(j+1)*width], s.Cum[(j-1)*width:j*width]
		for k := range row {
			row[k] -= prev[k]
		}
	}
	s.from = int32(min(i, int(s.from)))
}

// settle sums the open rows: one pass, however many deltas were back-dated.
func (s *series) settle(width int) {
	if !s.open {
		return
	}
	for j := max(int(s.from), 1); j < len(s.Days); j++ {
		addRow(s.Cum[j*width:(j+1)*width], s.Cum[(j-1)*width:j*width])
	}
	s.open, s.from = false, 0
}

func addRow(row, deltas []int64) {
	for k, v := range deltas {
		row[k] += v
	}
}

// mustBeSettled guards the reads: an open series holds deltas where sums
// belong, and a figure read from it would be wrong without a sign.
func (s *series) mustBeSettled() {
	if s.open {
		panic("projections: read of a series not settled after its batch")
	}
}

// at writes into out (len == width) the sums of the deltas dated up to d.
func (s *series) at(width int, d day, out []int64) {
	s.mustBeSettled()
	i := sort.Search(len(s.Days), func(i int) bool { return s.Days[i] > d })
	if i == 0 {
		clear(out)
		return
	}
	copy(out, s.Cum[(i-1)*width:i*width])
}

// between writes the sums of the deltas dated in [from, to].
func (s *series) between(width int, from, to day, out []int64) {
	if to < from {
		clear(out)
		return
	}
	s.at(width, to, out)
	before := make([]int64, width)
	s.at(width, from-1, before)
	for k := range out {
		out[k] -= before[k]
	}
}

// since reports whether anything is recorded on or before d.
func (s *series) since(d day) bool { return len(s.Days) > 0 && s.Days[0] <= d }

// at1 is at for a single figure.
func (s *series) at1(d day) int64 {
	var out [1]int64
	s.at(1, d, out[:])
	return out[0]
}

// add1 is add for a single figure.
func (s *series) add1(d day, delta int64) (opened bool) {
	return s.add(1, d, []int64{delta})
}

// openSeries lists the series a lane opened while applying a batch. A
// region's Portfolio moves when Regions grows, so it is named by its node;
// regionYears and funds stay where they are.
type openSeries struct {
	actuals    []actualRef
	funds      []*fund
	portfolios []int32
}

type actualRef struct {
	ry  *regionYear
	ind uint8
}

// settleOpened settles every series the lanes opened; the batch is applied.
func (s *state) settleOpened() {
	for _, o := range []*openSeries{&s.opened, &s.coverOpened} {
		for _, a := range o.actuals {
			a.ry.Actual[a.ind].settle(1)
		}
		for _, f := range o.funds {
			f.Flows.settle(fundWidth)
		}
		for _, n := range o.portfolios {
			s.Regions[n].Portfolio.settle(portfolioWidth)
		}
		clear(o.actuals)
		clear(o.funds)
		o.actuals, o.funds, o.portfolios = o.actuals[:0], o.funds[:0], o.portfolios[:0]
	}
}
