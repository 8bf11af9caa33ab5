// Package replay reads the log once for the several rebuilds of a start.
//
// A start without snapshots rebuilds the writer's state and the views, and
// each needs every event of the log decoded. Each reading and decoding the
// log on its own costs, at 10M events on two cores, seconds of CPU twice
// over. A Feed reads and decodes the log once, on every core, and hands each
// run of decoded events to all its members, each applying it on its own
// goroutine. A member may run up to driftRuns runs ahead of the slowest,
// so that one's pauses (a table's merge, a collection) do not stall the
// others.
package replay

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
)

// Decoded is an event's decoding: its value, or why it has none.
type Decoded struct {
	Value domain.Event
	Err   error
}

// Decode decodes an event's data, sharing repeated values through syms
// (owned by the calling goroutine).
func Decode(e *eventstore.Event, syms *domain.Symbols) Decoded {
	v, err := domain.DecodeWith(e.Type, e.Data, syms)
	return Decoded{Value: v, Err: err}
}

// Batch is a run of consecutive events and their decodings, valid only
// during the call it is passed to.
type Batch struct {
	Events  []eventstore.Event
	Decoded []Decoded
}

// Tuning of the shared read.
const (
	runEvents = 512 // events a run carries from the decoding workers to the members
	driftRuns = 16  // runs a member may hold, handed out but not yet applied
)

// ErrStopped reports a shared read that another member's failure stopped.
var ErrStopped = errors.New("replay: the shared read stopped")

// Feed is one shared read of a log. Every member joins before the first
// reads; the read starts when every member has called Read or Leave, from
// the earliest position asked, and each member sees the events after its own.
type Feed struct {
	log Log

	mu      sync.Mutex
	members []*Member
	pending int // members that have neither read nor left
	started bool
	err     error         // why the read stopped early, once it did
	quit    chan struct{} // closed when err is set
	done    chan struct{} // closed when the shared read has ended
}

// Log is what a feed reads; eventstore.Store has it.
type Log interface {
	eventstore.EventReader
	Head(ctx context.Context) (eventstore.Position, error)
}

// NewFeed returns a feed reading log.
func NewFeed(log Log) *Feed {
	return &Feed{log: log, quit: make(chan struct{}), done: make(chan struct{})}
}

// Member is one rebuild's place in a Feed.
type Member struct {
	feed    *Feed
	wants   func(eventType string) bool
	after   eventstore.Position
	reading bool
	left    bool
	batches chan Batch    // closed after the last run
	ahead   chan struct{} // closed when the member is at the head already
}

// Join adds a member that needs the events of the types wants accepts
// decoded (nil: every type); an event no member wants goes undecoded.
// It panics once the read has started: a member that joins late would
// never see the events already handed out.
func (f *Feed) Join(wants func(eventType string) bool) *Member {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started {
		panic("replay: join after the shared read started")
	}
	m := &Member{feed: f, wants: wants, batches: make(chan Batch, driftRuns), ahead: make(chan struct{})}
	f.members = append(f.members, m)
	f.pending++
	return m
}

// Read calls fn with the events after position `after` and their
// decodings, in log order, up to the head as of the start of the shared
// read. It waits for the other members to read or leave, then for the
// shared read to end, unless the member is at the head already: a writer
// restored from its snapshot does not wait for the views' rebuild. An
// error from fn, or ctx ending, stops the read for every member; the
// others then get ErrStopped. A member reads once.
func (m *Member) Read(ctx context.Context, after eventstore.Position, fn func(Batch) error) error {
	if !m.arrive(true, after) {
		return errors.New("replay: a member reads once")
	}
	f := m.feed
	for {
		select {
		case b, ok := <-m.batches:
			if !ok {
				return f.result()
			}
			if err := fn(b); err != nil {
				f.stop(fmt.Errorf("%w: %w", errMember, err))
				return err
			}
		case <-m.ahead:
			return nil
		case <-f.quit:
			return f.result()
		case <-ctx.Done():
			f.stop(ctx.Err())
			return ctx.Err()
		}
	}
}

// result is what a member that did not fail is told at the end.
func (f *Feed) result() error {
	if err := f.stopped(); err != nil {
		return fmt.Errorf("%w: %w", ErrStopped, err)
	}
	return nil
}

// Leave takes the member out before it reads: the shared read then starts
// without it. It does nothing once the member has read or left, so a
// member's owner may defer it.
func (m *Member) Leave() { m.arrive(false, 0) }

// arrive marks the member as reading from after, or as gone, and starts
// the shared read when it was the last one the read waited for. It
// reports false, changing nothing, for a member that already read or left.
func (m *Member) arrive(reading bool, after eventstore.Position) bool {
	f := m.feed
	f.mu.Lock()
	if m.reading || m.left {
		f.mu.Unlock()
		return false
	}
	m.reading, m.left, m.after = reading, !reading, after
	f.pending--
	last := f.pending == 0 && !f.started
	f.started = f.started || last
	f.mu.Unlock()
	if last {
		go f.run()
	}
	return true
}

// errMember marks a read stopped by a member's own fn: that member returns
// its error, the others ErrStopped.
var errMember = errors.New("replay: a member failed")

// stop asks the read to stop; the first reason wins.
func (f *Feed) stop(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
		close(f.quit)
	}
}

// stopped returns why the read stopped, nil while it has not.
func (f *Feed) stopped() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// run is the shared read: decoding on every core, each run handed to
// every reading member that wants some of it.
func (f *Feed) run() {
	defer close(f.done)
	var readers []*Member
	defer func() {
		for _, m := range readers {
			close(m.batches)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	head, err := f.log.Head(ctx)
	for _, m := range f.members {
		switch {
		case !m.reading:
		case err == nil && m.after >= head:
			close(m.ahead)
		default:
			readers = append(readers, m)
		}
	}
	if err != nil {
		f.stop(fmt.Errorf("replay: %w", err))
		return
	}
	if len(readers) == 0 {
		return
	}
	from := readers[0].after
	for _, m := range readers[1:] {
		from = min(from, m.after)
	}
	wanted := wantedBy(readers)
	err = eventstore.ReadInParallel(ctx, f.log, from, eventstore.Pipeline[eventstore.Event, Decoded]{
		Size: runEvents,
		Keep: func(e *eventstore.Event) eventstore.Event { return *e },
		NewWorker: func() func([]eventstore.Event, []Decoded) {
			syms := domain.NewSymbols()
			return func(events []eventstore.Event, out []Decoded) {
				for i := range events {
					if wanted(events[i].Type) {
						out[i] = Decode(&events[i], syms)
					}
				}
			}
		},
		Consume: func(events []eventstore.Event, out []Decoded) error {
			return f.handOut(readers, events, out)
		},
		Keeps: true, // the members apply the runs after Consume returns
	})
	if err != nil {
		f.stop(fmt.Errorf("replay: %w", err))
	}
}

// wantedBy returns whether any of the readers wants an event type decoded.
func wantedBy(readers []*Member) func(eventType string) bool {
	for _, m := range readers {
		if m.wants == nil {
			return func(string) bool { return true }
		}
	}
	return func(eventType string) bool {
		for _, m := range readers {
			if m.wants(eventType) {
				return true
			}
		}
		return false
	}
}

// handOut gives a run to every reader that wants some of it (the events
// after its position), waiting while a reader holds driftRuns runs.
func (f *Feed) handOut(readers []*Member, events []eventstore.Event, out []Decoded) error {
	for _, m := range readers {
		lo := sort.Search(len(events), func(i int) bool { return events[i].Position > m.after })
		if lo == len(events) {
			continue
		}
		select {
		case m.batches <- Batch{Events: events[lo:], Decoded: out[lo:]}:
		case <-f.quit:
			return f.stopped()
		}
	}
	return nil
}
