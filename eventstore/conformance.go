package eventstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// Harness gives the conformance suite fresh stores of one backend.
type Harness interface {
	// Open returns a new, empty store. The harness cleans it up at the end
	// of the test.
	Open(t *testing.T) Store
	// Reopen opens a store over the data of closed, which the suite has
	// already closed, as a process restart would.
	Reopen(t *testing.T, closed Store) (Store, error)
}

// TamperHarness is implemented by harnesses whose backend can be attacked
// behind the store's back (an operator with access to the stream). The suite
// checks that the attacks are refused or detected.
type TamperHarness interface {
	// DeleteEvent tries to remove the event at position p from the
	// underlying log, bypassing the Store, and returns the backend's answer.
	DeleteEvent(t *testing.T, s Store, p Position) error
	// Purge tries to empty the underlying log, bypassing the Store.
	Purge(t *testing.T, s Store) error
	// LowerLimits reconfigures the underlying log, bypassing the Store, so
	// that it could drop events (for example a message limit). The suite
	// then expects Reopen to fail with ErrUnsafeStream.
	LowerLimits(t *testing.T, s Store)
}

// conformanceTimeout bounds every wait of the suite, so that a hung backend
// fails its test instead of the whole run.
const conformanceTimeout = 20 * time.Second

// RunConformance runs the behaviour every Store must have against one
// backend. Each case gets a fresh store from h.
func RunConformance(t *testing.T, h Harness) {
	tests := []struct {
		name string
		run  func(t *testing.T, h Harness)
	}{
		{"appended events get consecutive positions from 1 in commit order", testOrdering},
		{"a multi-stream commit becomes visible all at once", testCommitAtomicity},
		{"a stale stream expectation is refused and appends nothing", testStaleStreamExpectation},
		{"a stale head in AppendBatch is refused and appends nothing", testStaleHead},
		{"one refused commit refuses its whole batch", testBatchAllOrNothing},
		{"AppendBatch appends its commits in order", testBatchOrder},
		{"a retried command id returns the first result and appends nothing", testIdempotentRetry},
		{"a command id reused for another command is refused", testIdempotencyMismatch},
		{"invalid commits are refused", testInvalid},
		{"an append is readable as soon as it returns", testReadAfterWrite},
		{"ReadStream returns one stream in version order", testReadStream},
		{"Read starts after the given position and stops on an error", testReadFrom},
		{"ReadBatches delivers what Read does, in runs whose events outlive the call", testReadBatches},
		{"Subscribe delivers the log and then new events", testSubscribeLive},
		{"Subscribe resumes from any position without gap or duplicate", testSubscribeResume},
		{"every event's hash chains to the one before", testHashChain},
		{"events and command ids survive a restart", testRestart},
		{"concurrent appends all land exactly once", testConcurrentAppends},
		{"concurrent appends expecting the same version let exactly one win", testConcurrentExpectations},
		{"a closed store refuses calls", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, h) })
	}
	if th, ok := h.(TamperHarness); ok {
		t.Run("the log refuses deletes and purges", func(t *testing.T) { testTamperRefused(t, h, th) })
		t.Run("a log whose limits were lowered is refused at open", func(t *testing.T) { testLoweredLimits(t, h, th) })
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), conformanceTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newCommit builds a commit with one event per stream named.
func newCommit(id string, streams ...string) Commit {
	c := Commit{CommandID: id, Fingerprint: "fp-" + id}
	for i, s := range streams {
		c.Events = append(c.Events, Event{
			Stream: s,
			Type:   "test.happened.v1",
			Data:   fmt.Appendf(nil, `{"command":%q,"n":%d}`, id, i),
			Meta:   Meta{BusinessDate: "2017-03-01", Actor: "tester", CorrelationID: "case-" + id},
		})
	}
	return c
}

func mustAppend(t *testing.T, s Store, c Commit) Result {
	t.Helper()
	r, err := s.Append(testContext(t), c)
	if err != nil {
		t.Fatalf("Append(%s): %v", c.CommandID, err)
	}
	return r
}

func readAll(t *testing.T, s Store, after Position) []Event {
	t.Helper()
	var got []Event
	err := s.Read(testContext(t), after, func(e Event) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Read(%d): %v", after, err)
	}
	return got
}

func headOf(t *testing.T, s Store) Position {
	t.Helper()
	p, err := s.Head(testContext(t))
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return p
}

// checkPositions fails unless events hold exactly the positions from..to.
func checkPositions(t *testing.T, events []Event, from, to Position) {
	t.Helper()
	if got, want := len(events), int(to-from+1); got != want {
		t.Fatalf("got %d events, want %d (positions %d..%d)", got, want, from, to)
	}
	for i, e := range events {
		if want := from + Position(i); e.Position != want {
			t.Fatalf("event %d has position %d, want %d", i, e.Position, want)
		}
	}
}

func testOrdering(t *testing.T, h Harness) {
	s := h.Open(t)
	c1 := newCommit("c1", "fund-1")
	c2 := newCommit("c2", "fund-1", "beneficiary-1")
	given := newCommit("c3", "loan-1")
	given.Events[0].ID = [16]byte{0x01, 0x89, 15: 1}
	for _, tt := range []struct {
		c           Commit
		first, last Position
	}{{c1, 1, 1}, {c2, 2, 3}, {given, 4, 4}} {
		r := mustAppend(t, s, tt.c)
		if want := (Result{First: tt.first, Last: tt.last}); r != want {
			t.Errorf("Append(%s) = %+v, want %+v", tt.c.CommandID, r, want)
		}
	}
	if got := headOf(t, s); got != 4 {
		t.Errorf("Head = %d, want 4", got)
	}
	events := readAll(t, s, 0)
	checkPositions(t, events, 1, 4)
	wantVersions := []uint64{1, 2, 1, 1}
	wantSource := []Event{c1.Events[0], c2.Events[0], c2.Events[1], given.Events[0]}
	for i, e := range events {
		checkEnvelope(t, e, wantSource[i], wantVersions[i])
	}
	if events[3].ID != given.Events[0].ID {
		t.Errorf("event id %s, want the writer's %s", events[3].ID, given.Events[0].ID)
	}
}

// checkEnvelope compares what the store returns with what the writer gave.
func checkEnvelope(t *testing.T, got, source Event, version uint64) {
	t.Helper()
	if got.Version != version {
		t.Errorf("position %d: version %d, want %d", got.Position, got.Version, version)
	}
	if got.Stream != source.Stream || got.Type != source.Type || !bytes.Equal(got.Data, source.Data) {
		t.Errorf("position %d: got %s %s %s, want %s %s %s", got.Position,
			got.Stream, got.Type, got.Data, source.Stream, source.Type, source.Data)
	}
	m := got.Meta
	if m.BusinessDate != source.Meta.BusinessDate || m.Actor != source.Meta.Actor || m.CorrelationID != source.Meta.CorrelationID {
		t.Errorf("position %d: meta %+v, want the writer's %+v", got.Position, m, source.Meta)
	}
	if m.CommandID == "" || m.Fingerprint != "fp-"+m.CommandID {
		t.Errorf("position %d: command %q fingerprint %q, want the commit's", got.Position, m.CommandID, m.Fingerprint)
	}
	if m.Recorded.IsZero() || m.Recorded.Location() != time.UTC || time.Since(m.Recorded) > time.Hour {
		t.Errorf("position %d: recorded %v, want a recent UTC time", got.Position, m.Recorded)
	}
	if got.ID == [16]byte{} {
		t.Errorf("position %d: no event id", got.Position)
	}
}

func testCommitAtomicity(t *testing.T, h Harness) {
	s := h.Open(t)
	const commits, perCommit = 200, 3
	done := make(chan struct{})
	var readErr error
	var mu sync.Mutex
	ctx := testContext(t)
	go func() {
		defer close(done)
		for {
			time.Sleep(time.Millisecond)
			counts := map[string]int{}
			err := s.Read(ctx, 0, func(e Event) error {
				counts[e.Meta.CommandID]++
				return nil
			})
			for id, n := range counts {
				if n != perCommit && err == nil {
					err = fmt.Errorf("read saw %d of %d events of %s", n, perCommit, id)
				}
			}
			if err != nil || len(counts) == commits {
				mu.Lock()
				readErr = err
				mu.Unlock()
				return
			}
		}
	}()
	for i := range commits {
		mustAppend(t, s, newCommit(fmt.Sprint("atomic-", i), fmt.Sprint("fund-", i), fmt.Sprint("person-", i), "program-1"))
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	if readErr != nil {
		t.Error(readErr)
	}
}

func testStaleStreamExpectation(t *testing.T, h Harness) {
	s := h.Open(t)
	first := newCommit("create", "fund-1")
	first.Expect = []Expectation{{Stream: "fund-1", Version: 0}}
	mustAppend(t, s, first)
	next := newCommit("second", "fund-1")
	next.Expect = []Expectation{{Stream: "fund-1", Version: 1}}
	mustAppend(t, s, next)
	stale := newCommit("stale", "fund-1", "fund-2")
	stale.Expect = []Expectation{{Stream: "fund-2", Version: 0}, {Stream: "fund-1", Version: 1}}
	_, err := s.Append(testContext(t), stale)
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("Append with a stale expectation: error %v, want ErrConflict", err)
	}
	if got := headOf(t, s); got != 2 {
		t.Errorf("Head = %d after a refused commit, want 2", got)
	}
	// The refused command id is not remembered: the same command can be
	// retried once the caller has caught up.
	stale.Expect[1].Version = 2
	if r := mustAppend(t, s, stale); r != (Result{First: 3, Last: 4}) {
		t.Errorf("retry after catching up = %+v, want positions 3..4", r)
	}
}

func testStaleHead(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := testContext(t)
	if _, err := s.AppendBatch(ctx, 0, []Commit{newCommit("a", "fund-1")}); err != nil {
		t.Fatalf("AppendBatch at head 0: %v", err)
	}
	_, err := s.AppendBatch(ctx, 0, []Commit{newCommit("b", "fund-2"), newCommit("c", "fund-3")})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("AppendBatch with a stale head: error %v, want ErrConflict", err)
	}
	if got := headOf(t, s); got != 1 {
		t.Errorf("Head = %d after a refused batch, want 1", got)
	}
	if rs, err := s.AppendBatch(ctx, 1, []Commit{newCommit("b", "fund-2")}); err != nil || rs[0] != (Result{First: 2, Last: 2}) {
		t.Errorf("AppendBatch at the right head = %+v, %v; want positions 2..2", rs, err)
	}
}

func testBatchAllOrNothing(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := testContext(t)
	mustAppend(t, s, newCommit("seed", "fund-1"))
	bad := newCommit("bad", "fund-1")
	bad.Expect = []Expectation{{Stream: "fund-1", Version: 0}}
	_, err := s.AppendBatch(ctx, 1, []Commit{newCommit("good", "fund-2"), bad})
	var ce *CommitError
	if !errors.Is(err, ErrConflict) || !errors.As(err, &ce) || ce.Index != 1 {
		t.Fatalf("AppendBatch with a stale commit: error %v, want ErrConflict from commit 1", err)
	}
	if got := headOf(t, s); got != 1 {
		t.Errorf("Head = %d after a refused batch, want 1", got)
	}
	if r := mustAppend(t, s, newCommit("good", "fund-2")); r.Duplicate {
		t.Errorf("the good commit of a refused batch counts as committed: %+v", r)
	}
}

func testBatchOrder(t *testing.T, h Harness) {
	s := h.Open(t)
	first := newCommit("open", "fund-1")
	second := newCommit("allocate", "fund-1", "region-1")
	second.Expect = []Expectation{{Stream: "fund-1", Version: 1}} // sees the first commit of the batch
	rs, err := s.AppendBatch(testContext(t), 0, []Commit{first, second, first})
	if err != nil {
		t.Fatalf("AppendBatch: %v", err)
	}
	want := []Result{{First: 1, Last: 1}, {First: 2, Last: 3}, {First: 1, Last: 1, Duplicate: true}}
	if fmt.Sprint(rs) != fmt.Sprint(want) {
		t.Errorf("AppendBatch = %+v, want %+v", rs, want)
	}
	checkPositions(t, readAll(t, s, 0), 1, 3)
}

func testIdempotentRetry(t *testing.T, h Harness) {
	s := h.Open(t)
	ctx := testContext(t)
	c := newCommit("pay-1", "fund-1", "person-1")
	first := mustAppend(t, s, c)
	mustAppend(t, s, newCommit("other", "fund-2"))
	c.Expect = []Expectation{{Stream: "fund-1", Version: 0}} // stale now, but a retry is answered first
	again := mustAppend(t, s, c)
	if want := (Result{First: first.First, Last: first.Last, Duplicate: true}); again != want {
		t.Errorf("retried Append = %+v, want %+v", again, want)
	}
	rs, err := s.AppendBatch(ctx, 3, []Commit{c})
	if err != nil || len(rs) != 1 || rs[0] != again {
		t.Errorf("retried AppendBatch = %+v, %v; want [%+v]", rs, err, again)
	}
	if got := headOf(t, s); got != 3 {
		t.Errorf("Head = %d after retries, want 3", got)
	}
}

func testIdempotencyMismatch(t *testing.T, h Harness) {
	s := h.Open(t)
	mustAppend(t, s, newCommit("pay-1", "fund-1"))
	other := newCommit("pay-1", "fund-9")
	other.Fingerprint = "another body"
	if _, err := s.Append(testContext(t), other); !errors.Is(err, ErrIdempotencyMismatch) {
		t.Errorf("Append with a reused command id: error %v, want ErrIdempotencyMismatch", err)
	}
	if got := headOf(t, s); got != 1 {
		t.Errorf("Head = %d, want 1", got)
	}
}

func testInvalid(t *testing.T, h Harness) {
	s := h.Open(t)
	big := newCommit("big", "fund-1")
	big.Events[0].Data = bytes.Repeat([]byte("x"), MaxBatchBytes)
	many := newCommit("many")
	for range MaxBatchEvents + 1 {
		many.Events = append(many.Events, newCommit("many", "fund-1").Events[0])
	}
	tests := []struct {
		name   string
		commit Commit
	}{
		{"a commit without events", Commit{CommandID: "x"}},
		{"a commit without command id", newCommit("", "fund-1")},
		{"an event without stream", newCommit("x", "")},
		{"an event without type", func() Commit { c := newCommit("x", "fund-1"); c.Events[0].Type = ""; return c }()},
		{"an expectation without stream", func() Commit { c := newCommit("x", "fund-1"); c.Expect = []Expectation{{}}; return c }()},
		{"a commit over the byte limit", big},
		{"a commit over the event limit", many},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Append(testContext(t), tt.commit); !errors.Is(err, ErrInvalid) {
				t.Errorf("Append: error %v, want ErrInvalid", err)
			}
			if _, err := s.AppendBatch(testContext(t), 0, []Commit{tt.commit}); !errors.Is(err, ErrInvalid) {
				t.Errorf("AppendBatch: error %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := s.AppendBatch(testContext(t), 0, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("AppendBatch of nothing: error %v, want ErrInvalid", err)
	}
	if got := headOf(t, s); got != 0 {
		t.Errorf("Head = %d after invalid commits, want 0", got)
	}
}

func testReadAfterWrite(t *testing.T, h Harness) {
	s := h.Open(t)
	for i := range 20 {
		r := mustAppend(t, s, newCommit(fmt.Sprint("c", i), "fund-1"))
		got := readAll(t, s, r.First-1)
		if len(got) != 1 || got[0].Meta.CommandID != fmt.Sprint("c", i) {
			t.Fatalf("Read after Append %d returned %d events", i, len(got))
		}
		stream, err := s.ReadStream(testContext(t), "fund-1")
		if err != nil || len(stream) != i+1 {
			t.Fatalf("ReadStream after Append %d returned %d events, %v", i, len(stream), err)
		}
	}
}

func testReadStream(t *testing.T, h Harness) {
	s := h.Open(t)
	for i := range 10 {
		mustAppend(t, s, newCommit(fmt.Sprint("c", i), "fund-1", fmt.Sprint("person-", i%3)))
	}
	got, err := s.ReadStream(testContext(t), "person-1")
	if err != nil {
		t.Fatalf("ReadStream: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("ReadStream returned %d events, want 3", len(got))
	}
	for i, e := range got {
		if e.Stream != "person-1" || e.Version != uint64(i+1) {
			t.Errorf("event %d: %s version %d, want person-1 version %d", i, e.Stream, e.Version, i+1)
		}
	}
	if none, err := s.ReadStream(testContext(t), "nobody"); err != nil || len(none) != 0 {
		t.Errorf("ReadStream of an unknown stream = %d events, %v; want none, no error", len(none), err)
	}
}

func testReadFrom(t *testing.T, h Harness) {
	s := h.Open(t)
	for i := range 10 {
		mustAppend(t, s, newCommit(fmt.Sprint("c", i), "fund-1", "fund-2"))
	}
	for _, after := range []Position{0, 1, 2, 7, 19, 20, 25} {
		got := readAll(t, s, after)
		if after >= 20 {
			checkPositions(t, got, 21, 20)
			continue
		}
		checkPositions(t, got, after+1, 20)
	}
	stop := errors.New("stop")
	n := 0
	err := s.Read(testContext(t), 0, func(Event) error {
		if n++; n == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 5 {
		t.Errorf("Read stopped after %d events with %v, want 5 and the callback's error", n, err)
	}
}

// testReadBatches reads a log of multi-event commits in runs from several
// positions (some inside a commit), keeping copies of the events past each
// call, and compares them with Read: a backend that reused an event's
// bytes after handing it over would show here.
func testReadBatches(t *testing.T, h Harness) {
	s := h.Open(t)
	const commits, perCommit = 40, 3
	for i := range commits {
		mustAppend(t, s, newCommit(fmt.Sprint("c", i), "fund-1", "fund-2", fmt.Sprint("person-", i)))
	}
	const head = commits * perCommit
	// Every read's events are kept until all reads are done, so that any
	// buffer a later read reused would have overwritten them; what Read
	// gives is copied deeply before, to compare with.
	afters := []Position{0, 1, 2, 3, 59, head - 1, head, head + 5}
	wants := make([][]Event, len(afters))
	for k, after := range afters {
		for _, e := range readAll(t, s, after) {
			wants[k] = append(wants[k], deepCopy(e))
		}
	}
	kept := make([][]Event, len(afters))
	for k, after := range afters {
		err := ReadBatches(testContext(t), s, after, func(run []Event) error {
			if len(run) == 0 {
				t.Errorf("after %d: an empty run", after)
			}
			kept[k] = append(kept[k], run...)
			return nil
		})
		if err != nil {
			t.Fatalf("ReadBatches(%d): %v", after, err)
		}
	}
	for k, after := range afters {
		got, want := kept[k], wants[k]
		if len(got) != len(want) {
			t.Fatalf("ReadBatches(%d) gave %d events, want %d", after, len(got), len(want))
		}
		for i := range got {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("ReadBatches(%d) event %d:\n%+v\nRead gave\n%+v", after, i, got[i], want[i])
			}
		}
	}
	stop := errors.New("stop")
	calls := 0
	err := ReadBatches(testContext(t), s, 0, func([]Event) error {
		if calls++; calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("ReadBatches stopped after %d runs with %v, want 2 and the callback's error", calls, err)
	}
}

// deepCopy returns e sharing no bytes with the store's.
func deepCopy(e Event) Event {
	e.Stream, e.Type, e.Data = strings.Clone(e.Stream), strings.Clone(e.Type), bytes.Clone(e.Data)
	m := &e.Meta
	m.BusinessDate, m.Actor, m.CommandID = strings.Clone(m.BusinessDate), strings.Clone(m.Actor), strings.Clone(m.CommandID)
	m.Fingerprint, m.CorrelationID = strings.Clone(m.Fingerprint), strings.Clone(m.CorrelationID)
	return e
}

// subscribeUntil subscribes after `after` and collects events until it has
// `count` of them, then returns them and Subscribe's error.
func subscribeUntil(t *testing.T, s Store, after Position, count int) ([]Event, error) {
	t.Helper()
	enough := errors.New("enough")
	var got []Event
	err := s.Subscribe(testContext(t), after, func(e Event) error {
		got = append(got, e)
		if len(got) == count {
			return enough
		}
		return nil
	})
	if errors.Is(err, enough) {
		err = nil
	}
	return got, err
}

func testSubscribeLive(t *testing.T, h Harness) {
	s := h.Open(t)
	for i := range 5 {
		mustAppend(t, s, newCommit(fmt.Sprint("old", i), "fund-1", "fund-2"))
	}
	type outcome struct {
		events []Event
		err    error
	}
	out := make(chan outcome, 1)
	go func() {
		events, err := subscribeUntil(t, s, 0, 30)
		out <- outcome{events, err}
	}()
	for i := range 10 {
		time.Sleep(time.Millisecond)
		mustAppend(t, s, newCommit(fmt.Sprint("new", i), "fund-1", "fund-3"))
	}
	o := <-out
	if o.err != nil {
		t.Fatalf("Subscribe: %v", o.err)
	}
	checkPositions(t, o.events, 1, 30)

	ctx, cancel := context.WithCancel(testContext(t))
	time.AfterFunc(50*time.Millisecond, cancel)
	err := s.Subscribe(ctx, 30, func(Event) error { return errors.New("no event expected") })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe at the head ended with %v, want context.Canceled", err)
	}
}

func testSubscribeResume(t *testing.T, h Harness) {
	s := h.Open(t)
	for i := range 10 {
		mustAppend(t, s, newCommit(fmt.Sprint("c", i), "fund-1", "fund-2", "fund-3"))
	}
	// Resume points inside commits as well as between them.
	var all []Event
	var checkpoint Position
	for _, chunk := range []int{1, 4, 2, 7, 16} {
		got, err := subscribeUntil(t, s, checkpoint, chunk)
		if err != nil {
			t.Fatalf("Subscribe after %d: %v", checkpoint, err)
		}
		all = append(all, got...)
		checkpoint = got[len(got)-1].Position
	}
	checkPositions(t, all, 1, 30)
}

func testHashChain(t *testing.T, h Harness) {
	s := h.Open(t)
	for i := range 10 {
		mustAppend(t, s, newCommit(fmt.Sprint("c", i), "fund-1", fmt.Sprint("person-", i)))
	}
	if _, err := s.AppendBatch(testContext(t), 20, []Commit{newCommit("b1", "x"), newCommit("b2", "y", "z")}); err != nil {
		t.Fatalf("AppendBatch: %v", err)
	}
	checkChain(t, readAll(t, s, 0))
}

func checkChain(t *testing.T, events []Event) {
	t.Helper()
	var prev [32]byte
	for _, e := range events {
		if want := ChainHash(prev, e); e.Hash != want {
			t.Fatalf("position %d: hash %x, want %x", e.Position, e.Hash, want)
		}
		prev = e.Hash
	}
}

func testRestart(t *testing.T, h Harness) {
	s := h.Open(t)
	first := mustAppend(t, s, newCommit("before", "fund-1", "person-1"))
	mustAppend(t, s, newCommit("before-2", "fund-1"))
	before := readAll(t, s, 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err := h.Reopen(t, s)
	if err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	after := readAll(t, s, 0)
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after a restart the log reads\n%v\nwant\n%v", after, before)
	}
	if got := headOf(t, s); got != 3 {
		t.Errorf("Head after restart = %d, want 3", got)
	}
	again := mustAppend(t, s, newCommit("before", "fund-1", "person-1"))
	if want := (Result{First: first.First, Last: first.Last, Duplicate: true}); again != want {
		t.Errorf("command retried after restart = %+v, want %+v", again, want)
	}
	next := newCommit("after", "fund-1")
	next.Expect = []Expectation{{Stream: "fund-1", Version: 2}}
	if r := mustAppend(t, s, next); r != (Result{First: 4, Last: 4}) {
		t.Errorf("append after restart = %+v, want position 4", r)
	}
	checkChain(t, readAll(t, s, 0))
}

func testConcurrentAppends(t *testing.T, h Harness) {
	s := h.Open(t)
	const writers, perWriter = 32, 25
	results := make([][]Result, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				c := newCommit(fmt.Sprintf("w%d-%d", w, i), fmt.Sprint("fund-", w), fmt.Sprint("person-", i))
				r, err := s.Append(testContext(t), c)
				if err != nil {
					t.Errorf("Append %s: %v", c.CommandID, err)
					return
				}
				results[w] = append(results[w], r)
			}
		})
	}
	wg.Wait()
	events := readAll(t, s, 0)
	checkPositions(t, events, 1, writers*perWriter*2)
	for w := range writers {
		for i, r := range results[w] {
			id := fmt.Sprintf("w%d-%d", w, i)
			if r.Duplicate || r.Last != r.First+1 {
				t.Fatalf("%s: result %+v", id, r)
			}
			for p := r.First; p <= r.Last; p++ {
				if got := events[p-1].Meta.CommandID; got != id {
					t.Fatalf("%s: position %d holds %s", id, p, got)
				}
			}
		}
	}
	checkChain(t, events)
}

func testConcurrentExpectations(t *testing.T, h Harness) {
	s := h.Open(t)
	const racers = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, conflicts := 0, 0
	for i := range racers {
		wg.Go(func() {
			c := newCommit(fmt.Sprint("racer-", i), "loan-1")
			c.Expect = []Expectation{{Stream: "loan-1", Version: 0}}
			_, err := s.Append(testContext(t), c)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, ErrConflict):
				conflicts++
			default:
				t.Errorf("racer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if won != 1 || conflicts != racers-1 {
		t.Errorf("%d won and %d conflicted, want 1 and %d", won, conflicts, racers-1)
	}
}

func testClosed(t *testing.T, h Harness) {
	s := h.Open(t)
	mustAppend(t, s, newCommit("c", "fund-1"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := testContext(t)
	nothing := func(Event) error { return nil }
	calls := map[string]error{}
	_, calls["Append"] = s.Append(ctx, newCommit("d", "fund-1"))
	_, calls["AppendBatch"] = s.AppendBatch(ctx, 1, []Commit{newCommit("d", "fund-1")})
	_, calls["Head"] = s.Head(ctx)
	calls["Read"] = s.Read(ctx, 0, nothing)
	calls["Subscribe"] = s.Subscribe(ctx, 0, nothing)
	_, calls["ReadStream"] = s.ReadStream(ctx, "fund-1")
	for name, err := range calls {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s on a closed store: error %v, want ErrClosed", name, err)
		}
	}
}

func testTamperRefused(t *testing.T, h Harness, th TamperHarness) {
	s := h.Open(t)
	for i := range 3 {
		mustAppend(t, s, newCommit(fmt.Sprint("c", i), "fund-1"))
	}
	if err := th.DeleteEvent(t, s, 2); err == nil {
		t.Errorf("deleting an event succeeded")
	}
	if err := th.Purge(t, s); err == nil {
		t.Errorf("purging the log succeeded")
	}
	checkPositions(t, readAll(t, s, 0), 1, 3)
}

func testLoweredLimits(t *testing.T, h Harness, th TamperHarness) {
	s := h.Open(t)
	mustAppend(t, s, newCommit("c", "fund-1"))
	th.LowerLimits(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	reopened, err := h.Reopen(t, s)
	if !errors.Is(err, ErrUnsafeStream) {
		if reopened != nil {
			reopened.Close()
		}
		t.Fatalf("Reopen after lowering the limits: error %v, want ErrUnsafeStream", err)
	}
}
