package projections

import (
	"fmt"
	"testing"
)

func TestChunkedKeepsOrder(t *testing.T) {
	for _, n := range []int{0, 1, chunkLen - 1, chunkLen, chunkLen + 1, 3*chunkLen + 5} {
		t.Run(fmt.Sprintf("%d elements come back in order by index and by iteration", n), func(t *testing.T) {
			var c chunked[int]
			for i := range n {
				c.add(i)
			}
			if c.N != n {
				t.Fatalf("got length %d, want %d", c.N, n)
			}
			for i := range n {
				if got := *c.at(i); got != i {
					t.Fatalf("got %d at %d, want %d", got, i, i)
				}
			}
			next := 0
			for v := range c.all {
				if *v != next {
					t.Fatalf("got %d iterating at %d, want %d", *v, next, next)
				}
				next++
			}
			if next != n {
				t.Errorf("iterated %d elements, want %d", next, n)
			}
		})
	}
}
