package jetstream

import (
	"testing"

	"github.com/hrss-ledger/ledger/eventstore"
)

// TestReadRangeStopsAtItsEnd reads bounded ranges of a log of many
// messages: each read starts right after `after`, covers `last`, and goes
// past it by at most the rest of last's message.
func TestReadRangeStopsAtItsEnd(t *testing.T) {
	store, err := OpenEmbedded(testContext(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	appendN(t, store, "range", 40) // one message per commit of 1 to 3 events
	all := readEvents(t, store)
	head := eventstore.Position(len(all))
	cases := []struct {
		name        string
		after, last eventstore.Position
	}{
		{"a range inside one message", 4, 5},
		{"a range across messages", 10, 30},
		{"a range from the start", 0, 7},
		{"a range ending at the head", head - 3, head},
		{"a range ending past the head", head - 2, head + 50},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []eventstore.Event
			err := store.ReadRange(testContext(t), c.after, c.last, func(run []eventstore.Event) error {
				got = append(got, run...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := min(c.last, head)
			if len(got) == 0 || got[0].Position != c.after+1 || got[len(got)-1].Position < want {
				t.Fatalf("got %d events from %v, want positions %d..%d", len(got), firstPosition(got), c.after+1, want)
			}
			// Past last, at most the rest of the message holding it (a commit holds at most 3 events).
			if extra := got[len(got)-1].Position - want; extra > 2 {
				t.Fatalf("read %d events past %d", extra, want)
			}
			for i, e := range got {
				if e.Hash != all[c.after+eventstore.Position(i)].Hash {
					t.Fatalf("event at %d differs from Read's", e.Position)
				}
			}
		})
	}
	t.Run("an empty range past the head reads nothing", func(t *testing.T) {
		calls := 0
		err := store.ReadRange(testContext(t), head, head+10, func([]eventstore.Event) error { calls++; return nil })
		if err != nil || calls != 0 {
			t.Fatalf("got %d calls, %v; want none", calls, err)
		}
	})
}

func firstPosition(events []eventstore.Event) any {
	if len(events) == 0 {
		return "nothing"
	}
	return events[0].Position
}

// TestEventAtReadsARange: eventstore.EventAt finds each event through
// ReadRange, and nothing past the head.
func TestEventAtReadsARange(t *testing.T) {
	store, err := OpenEmbedded(testContext(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	appendN(t, store, "at", 30)
	all := readEvents(t, store)
	for _, want := range all {
		got, ok, err := eventstore.EventAt(testContext(t), store, want.Position)
		if err != nil || !ok || got.Hash != want.Hash || got.Position != want.Position {
			t.Fatalf("got %d (%v, %v), want the event at %d", got.Position, ok, err, want.Position)
		}
	}
	if _, ok, err := eventstore.EventAt(testContext(t), store, eventstore.Position(len(all))+1); ok || err != nil {
		t.Fatalf("got %v, %v past the head; want not found", ok, err)
	}
}
