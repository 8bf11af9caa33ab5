package eventstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/eventstore"
)

func commitOf(id string, streams ...string) eventstore.Commit {
	c := eventstore.Commit{CommandID: id, Fingerprint: "fp-" + id}
	for _, s := range streams {
		c.Events = append(c.Events, eventstore.Event{Stream: s, Type: "t.v1", Data: []byte(`{}`)})
	}
	return c
}

func TestDraftNextSeesItsParent(t *testing.T) {
	st := eventstore.NewState()
	first := st.Draft(time.Unix(1, 0))
	if _, err := first.Add(commitOf("a", "fund-1")); err != nil {
		t.Fatal(err)
	}
	second := first.Next(time.Unix(2, 0))
	c := commitOf("b", "fund-1")
	c.Expect = []eventstore.Expectation{{Stream: "fund-1", Version: 1}}
	if r, err := second.Add(c); err != nil || r.First != 2 {
		t.Fatalf("Add after the parent's commit = %+v, %v; want position 2", r, err)
	}
	if r, err := second.Add(commitOf("a", "fund-1")); err != nil || !r.Duplicate {
		t.Errorf("the parent's command in the child = %+v, %v; want a duplicate", r, err)
	}
	st.Apply(first)
	st.Apply(second)
	if head, _ := st.Head(); head != 2 || st.Version("fund-1") != 2 {
		t.Errorf("after applying both: head %d version %d, want 2 and 2", head, st.Version("fund-1"))
	}
}

// restoreOneByOne folds events into a new state through Restore.
func restoreOneByOne(events []eventstore.Event) (*eventstore.State, error) {
	st := eventstore.NewState()
	for _, e := range events {
		if err := st.Restore(e); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// loadInRuns folds events into a new state through a Loader, in runs of n.
func loadInRuns(n int) func([]eventstore.Event) (*eventstore.State, error) {
	return func(events []eventstore.Event) (*eventstore.State, error) {
		l := eventstore.NewLoader(len(events))
		var r eventstore.Run
		for len(events) > 0 {
			k := min(n, len(events))
			if err := r.Prepare(events[:k]); err != nil {
				return nil, err
			}
			if err := l.Add(&r); err != nil {
				return nil, err
			}
			events = events[k:]
		}
		return l.State()
	}
}

var rebuilds = []struct {
	name    string
	rebuild func([]eventstore.Event) (*eventstore.State, error)
}{
	{"restored one by one", restoreOneByOne},
	{"loaded in runs of one", loadInRuns(1)},
	{"loaded in runs of two", loadInRuns(2)},
	{"loaded in one run", loadInRuns(1 << 20)},
}

func TestRestoreRefusesABrokenLog(t *testing.T) {
	good := eventstore.NewState().Draft(time.Unix(1, 0))
	good.Add(commitOf("a", "fund-1", "fund-2"))
	good.Add(commitOf("b", "fund-1"))
	good.Add(commitOf("d", "fund-3"))
	events := good.Events()
	rehash := func(e []eventstore.Event) {
		for i := range e {
			var prev [32]byte
			if i > 0 {
				prev = e[i-1].Hash
			}
			e[i].Hash = eventstore.ChainHash(prev, e[i])
		}
	}
	tests := []struct {
		name   string
		damage func(e []eventstore.Event)
	}{
		{"a gap in positions", func(e []eventstore.Event) { e[1].Position = 3 }},
		{"a gap in positions, rehashed", func(e []eventstore.Event) { e[1].Position = 3; rehash(e) }},
		{"a repeated version", func(e []eventstore.Event) { e[2].Version = 1 }},
		{"a repeated version, rehashed", func(e []eventstore.Event) { e[2].Version = 1; rehash(e) }},
		{"a skipped version, rehashed", func(e []eventstore.Event) { e[2].Version = 3; rehash(e) }},
		{"a changed body", func(e []eventstore.Event) { e[1].Data = []byte(`{"x":1}`) }},
		{"a changed last body", func(e []eventstore.Event) { e[3].Data = []byte(`{"x":1}`) }},
		{"a command split apart", func(e []eventstore.Event) {
			e[2].Meta.CommandID = "a"
			e[2].Hash = eventstore.ChainHash(e[1].Hash, e[2])
			e[1].Meta.CommandID = "c"
		}},
		{"a command repeated later, rehashed", func(e []eventstore.Event) { e[3].Meta.CommandID = "a"; rehash(e) }},
	}
	for _, rb := range rebuilds {
		for _, tt := range tests {
			t.Run(rb.name+" refuses "+tt.name, func(t *testing.T) {
				damaged := append([]eventstore.Event(nil), events...)
				tt.damage(damaged)
				_, err := rb.rebuild(damaged)
				if !errors.Is(err, eventstore.ErrCorrupt) {
					t.Errorf("error %v, want ErrCorrupt", err)
				}
			})
		}
	}
}

func TestLoaderAgreesWithRestore(t *testing.T) {
	st := eventstore.NewState()
	var events []eventstore.Event
	for b := range 40 {
		d := st.Draft(time.Unix(int64(b), 0))
		for i := range 50 {
			n := b*50 + i
			streams := []string{fmt.Sprint("payment-", n)}
			if n%3 == 0 {
				streams = append(streams, fmt.Sprint("fund-", n%17), fmt.Sprint("loan-", n%101))
			}
			if _, err := d.Add(commitOf(fmt.Sprint("cmd-", n), streams...)); err != nil {
				t.Fatal(err)
			}
		}
		events = append(events, d.Events()...)
		st.Apply(d)
	}
	probes := []string{"payment-0", "payment-1999", "fund-0", "fund-16", "loan-100", "loan-7", "fund-17", "payment-2000"}
	for _, rb := range rebuilds {
		t.Run(rb.name+" gives the state the appends made", func(t *testing.T) {
			got, err := rb.rebuild(events)
			if err != nil {
				t.Fatal(err)
			}
			if gh, wh := fmt.Sprint(got.Head()), fmt.Sprint(st.Head()); gh != wh {
				t.Errorf("head: got %s, want %s", gh, wh)
			}
			if got.Commands() != st.Commands() {
				t.Errorf("commands: got %d, want %d", got.Commands(), st.Commands())
			}
			for _, stream := range probes {
				if g, w := got.Version(stream), st.Version(stream); g != w {
					t.Errorf("version of %s: got %d, want %d", stream, g, w)
				}
				if g, w := fmt.Sprint(got.StreamPositions(stream)), fmt.Sprint(st.StreamPositions(stream)); g != w {
					t.Errorf("positions of %s: got %s, want %s", stream, g, w)
				}
			}
			again := commitOf("cmd-1234", "payment-1234")
			want, _ := st.Draft(time.Unix(99, 0)).Add(again)
			if r, err := got.Draft(time.Unix(99, 0)).Add(again); err != nil || r != want || !r.Duplicate {
				t.Errorf("a command of the log again: got %+v, %v; want %+v", r, err, want)
			}
		})
	}
}

func TestStreamPositionsFollowTheStream(t *testing.T) {
	st := eventstore.NewState()
	d := st.Draft(time.Unix(1, 0))
	d.Add(commitOf("a", "fund-1", "fund-2"))
	d.Add(commitOf("b", "fund-2", "fund-3", "fund-1"))
	d.Add(commitOf("c", "fund-1"))
	st.Apply(d)
	tests := []struct {
		stream string
		want   string
	}{
		{"fund-1", "[1 5 6]"},
		{"fund-2", "[2 3]"},
		{"fund-3", "[4]"},
		{"fund-4", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.stream+" is found at its positions", func(t *testing.T) {
			if got := fmt.Sprint(st.StreamPositions(tt.stream)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func BenchmarkDraft64(b *testing.B) {
	st := eventstore.NewState()
	data := make([]byte, 300)
	n := 0
	for b.Loop() {
		d := st.Draft(time.Now())
		for range 64 {
			c := commitOf(fmt.Sprint("cmd-", n), fmt.Sprint("loan-", n%100_000))
			c.Events[0].Data = data
			n++
			if _, err := d.Add(c); err != nil {
				b.Fatal(err)
			}
		}
		st.Apply(d)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
