package projections

import (
	"math/rand/v2"
	"testing"
)

// TestSeriesOutOfOrder adds deltas in a random date order, settling at
// random points as batches end, and checks every figure as of every day
// against sums computed the plain way.
func TestSeriesOutOfOrder(t *testing.T) {
	const width, days = 3, 40
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 200 {
		var s series
		var own [days][width]int64 // each day's deltas, summed the plain way below
		for range 1 + rng.IntN(60) {
			d := day(rng.IntN(days))
			deltas := []int64{int64(rng.IntN(9) - 4), int64(rng.IntN(1000)), 1}
			s.add(width, d, deltas)
			for k := range width {
				own[d][k] += deltas[k]
			}
			if rng.IntN(4) == 0 {
				s.settle(width)
			}
		}
		s.settle(width)
		var want [width]int64
		got := make([]int64, width)
		for d := range day(days) {
			for k := range width {
				want[k] += own[d][k]
			}
			s.at(width, d, got)
			if [width]int64(got) != want {
				t.Fatalf("round %d: as of day %d got %v, want %v", round, d, got, want)
			}
		}
	}
}

// TestSeriesBackDatedOpensUntilSettled: a delta dated before the last day
// opens the series, which refuses to be read until it is settled; one in
// date order leaves it settled.
func TestSeriesBackDatedOpensUntilSettled(t *testing.T) {
	var s series
	if s.add1(10, 5) || s.add1(20, 7) || s.add1(20, 1) {
		t.Fatalf("deltas in date order opened the series")
	}
	if !s.add1(15, 100) {
		t.Fatalf("a back-dated delta did not open the series")
	}
	if s.add1(12, 1) {
		t.Fatalf("an open series reported opening again")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("an open series was read")
			}
		}()
		s.at1(20)
	}()
	s.settle(1)
	for d, want := range map[day]int64{9: 0, 10: 5, 12: 6, 15: 106, 19: 106, 20: 114, 99: 114} {
		if got := s.at1(d); got != want {
			t.Errorf("as of day %d: got %d, want %d", d, got, want)
		}
	}
}
