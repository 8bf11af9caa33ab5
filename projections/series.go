package projections

import "sort"

// series is a step function over business days: for each day on which
// something happened, the cumulative sums (Width figures side by side) of all
// deltas dated up to and including that day. A figure as of any date is then
// one binary search, whatever order the events arrived in: an event dated
// after the last day is an append, a back-dated one an insert that shifts
// the sums after it (rare in a real log, where most events are recorded in
// date order).
type series struct {
	Days []day
	Cum  []int64 // len(Days)*width, row i holds the sums up to Days[i]
}

// add records deltas (len == width) on day d.
func (s *series) add(width int, d day, deltas []int64) {
	n := len(s.Days)
	if n > 0 && s.Days[n-1] == d {
		addRow(s.Cum[(n-1)*width:n*width], deltas)
		return
	}
	if n == 0 || s.Days[n-1] < d {
		s.Days = append(s.Days, d)
		if n == 0 {
			s.Cum = append(s.Cum, deltas...)
			return
		}
		s.Cum = append(s.Cum, s.Cum[(n-1)*width:n*width]...)
		addRow(s.Cum[n*width:], deltas)
		return
	}
	s.insert(width, d, deltas)
}

// insert handles a back-dated delta.
func (s *series) insert(width int, d day, deltas []int64) {
	i := sort.Search(len(s.Days), func(i int) bool { return s.Days[i] >= d })
	if s.Days[i] != d {
		s.Days = append(s.Days, 0)
		copy(s.Days[i+1:], s.Days[i:])
		s.Days[i] = d
		s.Cum = append(s.Cum, make([]int64, width)...)
		copy(s.Cum[(i+1)*width:], s.Cum[i*width:])
		if i == 0 {
			clear(s.Cum[:width])
		} else {
			copy(s.Cum[i*width:(i+1)*width], s.Cum[(i-1)*width:i*width])
		}
	}
	for j := i; j < len(s.Days); j++ {
		addRow(s.Cum[j*width:(j+1)*width], deltas)
	}
}

func addRow(row, deltas []int64) {
	for k, v := range deltas {
		row[k] += v
	}
}

// at writes into out (len == width) the sums of the deltas dated up to d.
func (s *series) at(width int, d day, out []int64) {
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
func (s *series) add1(d day, delta int64) {
	s.add(1, d, []int64{delta})
}
