package projections

import "testing"

// TestRegionCache: codes whose bytes lie side by side share a slot of a
// lane's cache, and each is still given its own node.
func TestRegionCache(t *testing.T) {
	s := newState()
	both := "6109026109"
	a, b := both[0:6], both[1:7] // one byte apart: the same slot
	var c regionCache
	if c.slot(a) != c.slot(b) {
		t.Fatal("the test wants two codes in one slot")
	}
	if s.known(&c, a) {
		t.Fatalf("got %s known before it is a region", a)
	}
	na, nb := s.node(a), s.node(b)
	for range 3 {
		if got := s.cachedNode(&c, a); got != na {
			t.Errorf("got node %d for %s, want %d", got, a, na)
		}
		if got := s.cachedNode(&c, b); got != nb {
			t.Errorf("got node %d for %s, want %d", got, b, nb)
		}
		if !s.known(&c, a) || !s.known(&c, b) {
			t.Errorf("got %s or %s unknown", a, b)
		}
	}
	if s.known(&c, "610903") {
		t.Error("got a code never defined known")
	}
}
