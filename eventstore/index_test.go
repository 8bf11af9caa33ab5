package eventstore

import (
	"cmp"
	"errors"
	"fmt"
	"testing"
)

func TestCommandIndex(t *testing.T) {
	x := NewCommandIndex()
	x.Put("officer-wang/0190f3c2-7d7e-7a51-9d43-5c0b7e8f1a20", "fp-1", Result{First: 7, Last: 9})
	tests := []struct {
		name, id, fingerprint string
		found, matches        bool
		want                  Result
	}{
		{"a recorded command is found with its positions", "officer-wang/0190f3c2-7d7e-7a51-9d43-5c0b7e8f1a20", "fp-1", true, true, Result{First: 7, Last: 9}},
		{"a recorded command with another fingerprint does not match", "officer-wang/0190f3c2-7d7e-7a51-9d43-5c0b7e8f1a20", "fp-2", true, false, Result{First: 7, Last: 9}},
		{"an id differing in one character is not found", "officer-wang/0190f3c2-7d7e-7a51-9d43-5c0b7e8f1a21", "fp-1", false, false, Result{First: 0, Last: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found := x.Get(tt.id)
			if found != tt.found {
				t.Fatalf("found: got %v, want %v", found, tt.found)
			}
			if got.Result() != tt.want {
				t.Errorf("result: got %+v, want %+v", got.Result(), tt.want)
			}
			if found && got.Matches(tt.fingerprint) != tt.matches {
				t.Errorf("matches %q: got %v, want %v", tt.fingerprint, !tt.matches, tt.matches)
			}
		})
	}
}

func TestCommandIndexExtend(t *testing.T) {
	tests := []struct {
		name    string
		last    Position
		corrupt bool
	}{
		{"a command extended to its next event spans both", 11, false},
		{"a command extended past one append's events is corrupt", 10 + MaxBatchEvents, true},
		{"a command extended before its first event is corrupt", 9, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewCommandIndex()
			k := KeyOf("c")
			x.PutKey(k, "fp", Result{First: 10, Last: 10})
			err := x.Extend(k, tt.last)
			if got := errors.Is(err, ErrCorrupt); got != tt.corrupt {
				t.Fatalf("corrupt: got %v (%v), want %v", got, err, tt.corrupt)
			}
			if got, _ := x.GetKey(k); !tt.corrupt && got.Result() != (Result{First: 10, Last: tt.last}) {
				t.Errorf("got %+v, want 10..%d", got.Result(), tt.last)
			}
		})
	}
}

func TestCommandIndexKeepsEveryEntryAcrossMerges(t *testing.T) {
	const n = 5*minMergeEntries + 123 // several merges into the sorted array, and a map left over
	x := NewCommandIndex()
	for i := range n {
		x.Put(fmt.Sprintf("officer-wang/%d", i), fmt.Sprintf("fp-%d", i), Result{First: Position(10 * i), Last: Position(10 * i)})
	}
	for i := 0; i < n; i += 7 { // some commands grow after their entry was merged
		if err := x.Extend(KeyOf(fmt.Sprintf("officer-wang/%d", i)), Position(10*i+3)); err != nil {
			t.Fatal(err)
		}
	}
	if got := x.Len(); got != n {
		t.Fatalf("len: got %d, want %d", got, n)
	}
	for i := range n {
		got, ok := x.Get(fmt.Sprintf("officer-wang/%d", i))
		want := Result{First: Position(10 * i), Last: Position(10 * i)}
		if i%7 == 0 {
			want.Last += 3
		}
		if !ok || got.Result() != want || !got.Matches(fmt.Sprintf("fp-%d", i)) {
			t.Fatalf("command %d: got %+v found %v, want %+v with its fingerprint", i, got.Result(), ok, want)
		}
	}
	if _, ok := x.Get(fmt.Sprintf("officer-wang/%d", n)); ok {
		t.Errorf("an id never put is found")
	}
}

func TestSortSlotsOrdersByKeyThenValue(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000, 100_003} {
		t.Run(fmt.Sprintf("%d slots come out sorted and whole", n), func(t *testing.T) {
			slots := make([]keySlot[streamEntry], n)
			sum := uint64(0)
			for i := range slots {
				// Three events per key, in reverse order of position.
				slots[i] = keySlot[streamEntry]{KeyOf(fmt.Sprint(i / 3)), streamEntry{last: Position(n - i)}}
				sum += uint64(n - i)
			}
			sortSlots(slots, func(a, b *keySlot[streamEntry]) int { return cmp.Compare(a.value.last, b.value.last) })
			got := uint64(0)
			for i, s := range slots {
				got += s.value.last
				if i == 0 {
					continue
				}
				c := compareKeys(slots[i-1].key, s.key)
				if c > 0 || c == 0 && slots[i-1].value.last >= s.value.last {
					t.Fatalf("slot %d is out of order", i)
				}
			}
			if got != sum {
				t.Errorf("sum of positions: got %d, want %d", got, sum)
			}
		})
	}
}

func TestCommandIndexGrowsAfterAdoptingASortedArray(t *testing.T) {
	const adopted, added = 10_000, 3*minMergeEntries + 5
	slots := make([]keySlot[CommandEntry], adopted)
	for i := range slots {
		slots[i] = keySlot[CommandEntry]{KeyOf(fmt.Sprint("c", i)), newCommandEntry(fingerprintOf("fp"), Result{First: Position(i + 1), Last: Position(i + 1)})}
	}
	sortSlots(slots, func(a, b *keySlot[CommandEntry]) int { return 0 })
	x := NewCommandIndex()
	x.index.adopt(slots)
	for i := adopted; i < adopted+added; i++ {
		x.Put(fmt.Sprint("c", i), "fp", Result{First: Position(i + 1), Last: Position(i + 1)})
	}
	for i := range adopted + added {
		if got, ok := x.Get(fmt.Sprint("c", i)); !ok || got.Result().First != Position(i+1) || !got.Matches("fp") {
			t.Fatalf("command %d: got %+v found %v", i, got.Result(), ok)
		}
	}
}

func TestBackLinksReachFarBack(t *testing.T) {
	defer func(was Position) { maxNearDistance = was }(maxNearDistance)
	maxNearDistance = 100
	var l backLinks
	l.add(1, 0)
	l.add(2, 1)
	l.distance = append(l.distance, make([]uint32, 200)...)
	far := Position(len(l.distance) + 1)
	l.add(far, 2)
	tests := []struct {
		name    string
		p, want Position
	}{
		{"a stream's first event has none before it", 1, 0},
		{"a near event links to its neighbour", 2, 1},
		{"an event farther than the array reaches links back", far, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := l.before(tt.p); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}
