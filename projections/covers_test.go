package projections

import (
	"strings"
	"testing"
)

func TestPackID(t *testing.T) {
	pseudonym := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name   string
		a, b   string
		packed bool // both pack
		same   bool // to the same key
	}{
		{"a short id packs, and two ids differ", "B1", "B12", true, false},
		{"an id and itself give one key", "B12345", "B12345", true, true},
		{"a pseudonym packs apart from a 32-byte id of the same bytes", pseudonym, pseudonym[:32], true, false},
		{"two pseudonyms differing in the last digit differ", pseudonym, pseudonym[:63] + "e", true, false},
		{"a pseudonym in capitals does not pack", strings.ToUpper(pseudonym), pseudonym, false, false},
		{"a 40-byte id does not pack", strings.Repeat("L", 40), "L", false, false},
		{"a pseudonym with a byte that is no hex digit does not pack", pseudonym[:63] + "g", pseudonym, false, false},
		{"nor one with a zero byte", "\x00" + pseudonym[1:], pseudonym, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, okA := packID(tt.a)
			kb, okB := packID(tt.b)
			if tt.packed && (!okA || !okB) {
				t.Fatalf("got packed %v, %v, want both", okA, okB)
			}
			if !tt.packed && okA {
				t.Fatalf("got %q packed, want not", tt.a)
			}
			if tt.packed && (ka == kb) != tt.same {
				t.Errorf("got same key %v, want %v", ka == kb, tt.same)
			}
		})
	}
}

func TestUnpackIDGivesTheIDBack(t *testing.T) {
	for _, id := range []string{"B1", strings.Repeat("0123456789abcdef", 4), strings.Repeat("z", 32)} {
		k, ok := packID(id)
		if got := unpackID(k); !ok || got != id {
			t.Errorf("got %q (packed %v), want %q", got, ok, id)
		}
	}
}

func TestPersonsOfEitherFormKeepApart(t *testing.T) {
	s := newState()
	ids := []string{"B1", strings.Repeat("ab", 32), strings.Repeat("AB", 32), strings.Repeat("x", 40), "B2"}
	for round := range 2 {
		for want, id := range ids {
			if got := s.person(id); got != int32(want) {
				t.Errorf("round %d: got person %d for %q, want %d", round, got, id, want)
			}
		}
	}
}
