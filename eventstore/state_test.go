package eventstore_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
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
	{"resumed from a snapshot of its first event", resumeAfterFirst},
	{"resumed from a snapshot of its first two events", resumeAfterTwo},
}

func resumeAfterFirst(events []eventstore.Event) (*eventstore.State, error) {
	return resumeAfter(events, 1)
}

func resumeAfterTwo(events []eventstore.Event) (*eventstore.State, error) {
	return resumeAfter(events, 2)
}

// resumeAfter loads events from a snapshot of their first n, in runs of two.
func resumeAfter(events []eventstore.Event, n int) (*eventstore.State, error) {
	prefix, err := restoreOneByOne(events[:n])
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := prefix.WriteSnapshot(&buf); err != nil {
		return nil, err
	}
	return resumeFrom(buf.Bytes(), events, 2)
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

// logOf appends commits to a new state in drafts of perDraft commits and
// returns the state and the events as stored.
func logOf(t *testing.T, commits, perDraft int, tag string) (*eventstore.State, []eventstore.Event) {
	t.Helper()
	st := eventstore.NewState()
	var events []eventstore.Event
	for first := 0; first < commits; first += perDraft {
		d := st.Draft(time.Unix(int64(first), 0))
		for n := first; n < min(first+perDraft, commits); n++ {
			streams := []string{fmt.Sprint("payment-", tag, n)}
			if n%4 == 0 {
				streams = append(streams, fmt.Sprint("fund-", n%13))
			}
			if _, err := d.Add(commitOf(fmt.Sprint("cmd-", n), streams...)); err != nil {
				t.Fatal(err)
			}
		}
		events = append(events, d.Events()...)
		st.Apply(d)
	}
	return st, events
}

// sameState reports how got differs from want, as far as probes show.
func sameState(got, want *eventstore.State, probes []string) error {
	if g, w := fmt.Sprint(got.Head()), fmt.Sprint(want.Head()); g != w {
		return fmt.Errorf("head %s, want %s", g, w)
	}
	if got.Commands() != want.Commands() {
		return fmt.Errorf("%d commands, want %d", got.Commands(), want.Commands())
	}
	for _, stream := range probes {
		if g, w := fmt.Sprint(got.StreamPositions(stream)), fmt.Sprint(want.StreamPositions(stream)); g != w || got.Version(stream) != want.Version(stream) {
			return fmt.Errorf("stream %s at %s version %d, want %s version %d", stream, g, got.Version(stream), w, want.Version(stream))
		}
	}
	return nil
}

func snapshotOf(t *testing.T, st *eventstore.State) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := st.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoaderResumesFromASnapshot(t *testing.T) {
	full, events := logOf(t, 4000, 50, "")
	prefix := events[:len(events)*3/4]
	saved := snapshotOf(t, mustRebuild(t, prefix))
	probes := []string{"payment-0", "payment-2999", "payment-3200", "payment-3999", "fund-0", "fund-12", "fund-13"}
	tests := []struct {
		name   string
		events []eventstore.Event
		runLen int
		want   *eventstore.State
	}{
		{"a log that grew since the snapshot loads whole", events, 50, full},
		{"runs that straddle the snapshot's head load whole", events, 7, full},
		{"a log that ends at the snapshot loads as it", prefix, 50, mustRebuild(t, prefix)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resumeFrom(saved, tt.events, tt.runLen)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameState(got, tt.want, probes); err != nil {
				t.Error(err)
			}
			again := commitOf("cmd-10", "payment-10")
			if r, err := got.Draft(time.Unix(9, 0)).Add(again); err != nil || !r.Duplicate {
				t.Errorf("a command of the snapshot again: got %+v, %v; want a duplicate", r, err)
			}
		})
	}
}

func TestLoaderRefusesASnapshotTheLogDoesNotLeadTo(t *testing.T) {
	_, events := logOf(t, 300, 50, "")
	other, _ := logOf(t, 300, 50, "other-")
	shorter := mustRebuild(t, events[:250])
	saved := snapshotOf(t, mustRebuild(t, events))
	damaged := bytes.Clone(saved)
	damaged[len(damaged)/2] ^= 1
	tests := []struct {
		name     string
		snapshot []byte
		events   []eventstore.Event
		want     error
	}{
		{"a snapshot of another log is stale", snapshotOf(t, other), events, eventstore.ErrSnapshotStale},
		{"a snapshot beyond the log is stale", saved, events[:200], eventstore.ErrSnapshotStale},
		{"a snapshot of the log's prefix is of use", snapshotOf(t, shorter), events, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resumeFrom(tt.snapshot, tt.events, 50)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	for _, bad := range []struct {
		name     string
		snapshot []byte
	}{
		{"a flipped byte", damaged},
		{"a torn end", saved[:len(saved)-1]},
		{"nothing", nil},
	} {
		t.Run("a snapshot with "+bad.name+" is refused", func(t *testing.T) {
			if _, err := eventstore.ReadSnapshot(bytes.NewReader(bad.snapshot), 1<<20); err == nil {
				t.Error("read without error")
			}
		})
	}
}

func mustRebuild(t *testing.T, events []eventstore.Event) *eventstore.State {
	t.Helper()
	st, err := restoreOneByOne(events)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// resumeFrom loads events in runs of runLen through a loader resumed from
// a snapshot.
func resumeFrom(snapshot []byte, events []eventstore.Event, runLen int) (*eventstore.State, error) {
	saved, err := eventstore.OpenSnapshot(bytes.NewReader(snapshot), eventstore.Position(len(events)))
	if err != nil {
		return nil, err
	}
	baseHead, baseHash := saved.Head()
	l := eventstore.NewLoader(0)
	l.Resume(baseHead, baseHash, len(events))
	var r eventstore.Run
	for len(events) > 0 {
		run := events[:min(runLen, len(events))]
		prepare := r.Prepare
		if run[len(run)-1].Position <= baseHead {
			prepare = r.PrepareChain
		}
		if err := prepare(run); err != nil {
			return nil, err
		}
		if err := l.Add(&r); err != nil {
			return nil, err
		}
		events = events[len(run):]
	}
	base, err := saved.State() // read after the log, as a backend may
	if err != nil {
		return nil, err
	}
	return l.StateFrom(base)
}

var damageSeed = flag.Int64("damage.seed", 0, "replay one seed of TestLoaderAndRestoreAgreeOnDamagedLogs")

// TestLoaderAndRestoreAgreeOnDamagedLogs damages a log at random, one
// field of one event, rehashing the chain after it so that only the
// state's own checks can tell, and requires every way of rebuilding the
// state to agree with Restore: refuse the same logs, and build the same
// state from the others.
func TestLoaderAndRestoreAgreeOnDamagedLogs(t *testing.T) {
	const seeds = 300
	first, last := int64(1), int64(seeds)
	if *damageSeed != 0 {
		first, last = *damageSeed, *damageSeed
	}
	_, pristine := logOf(t, 40, 6, "")
	for seed := first; seed <= last; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 0))
		events := append([]eventstore.Event(nil), pristine...)
		what := damage(rng, events)
		want, wantErr := restoreOneByOne(events)
		for _, rb := range rebuilds[1:] {
			got, err := rb.rebuild(events)
			if errors.Is(err, eventstore.ErrCorrupt) != errors.Is(wantErr, eventstore.ErrCorrupt) {
				t.Fatalf("seed %d (%s), %s: error %v, Restore's %v", seed, what, rb.name, err, wantErr)
			}
			if err != nil {
				continue
			}
			if err := sameState(got, want, streamsOf(events)); err != nil {
				t.Fatalf("seed %d (%s), %s: %v", seed, what, rb.name, err)
			}
		}
	}
}

// damage changes one field of one event after the first to a value seen
// elsewhere in the log, or one off, rehashes the chain from there, and
// says what it did.
func damage(rng *rand.Rand, events []eventstore.Event) string {
	i, other := 1+rng.IntN(len(events)-1), rng.IntN(len(events))
	e := &events[i]
	var what string
	switch rng.IntN(5) {
	case 0:
		e.Version = events[other].Version
		what = fmt.Sprintf("event %d takes the version of %d", i, other)
	case 1:
		e.Version += uint64(rng.IntN(3)) - 1
		what = fmt.Sprintf("event %d's version moves by one or none", i)
	case 2:
		e.Stream = events[other].Stream
		what = fmt.Sprintf("event %d moves to the stream of %d", i, other)
	case 3:
		e.Meta.CommandID = events[other].Meta.CommandID
		what = fmt.Sprintf("event %d takes the command of %d", i, other)
	default:
		e.Position += uint64(rng.IntN(3)) - 1
		what = fmt.Sprintf("event %d's position moves by one or none", i)
	}
	for ; i < len(events); i++ {
		events[i].Hash = eventstore.ChainHash(events[i-1].Hash, events[i])
	}
	return what
}

func streamsOf(events []eventstore.Event) []string {
	var streams []string
	for _, e := range events {
		streams = append(streams, e.Stream)
	}
	return streams
}
