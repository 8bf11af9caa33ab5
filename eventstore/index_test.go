package eventstore

import (
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
