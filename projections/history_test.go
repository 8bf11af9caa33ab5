package projections

import (
	"math"
	"testing"
)

func TestHistoryKeepsPositionsAndOrder(t *testing.T) {
	tests := []struct {
		name      string
		positions []uint64
	}{
		{"a few entries stay in one small chunk", []uint64{3, 7, 8}},
		{"entries past a chunk's length go on in the next", func() []uint64 {
			var ps []uint64
			for i := range 2*chunkLen + 5 {
				ps = append(ps, uint64(10+3*i))
			}
			return ps
		}()},
		{"an entry more than an offset's range after the last starts a chunk", []uint64{1, 2, 2 + math.MaxUint32 + 1, 2 + math.MaxUint32 + 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h history
			for i, pos := range tt.positions {
				h.add(pos, int64(i)-2, int32(i))
			}
			i := 0
			for pos, e := range h.all {
				if pos != tt.positions[i] || e.Amount != int64(i)-2 || e.Counter != int32(i) {
					t.Fatalf("entry %d: got position %d amount %d counter %d, want %d %d %d",
						i, pos, e.Amount, e.Counter, tt.positions[i], int64(i)-2, i)
				}
				i++
			}
			if i != len(tt.positions) || h.N != len(tt.positions) {
				t.Errorf("got %d entries (N %d), want %d", i, h.N, len(tt.positions))
			}
		})
	}
}
