// Package memory is an in-memory eventstore.Store for fast tests of the code
// built on the log. It keeps every promise of the contract except durability:
// its data lives as long as the process (Reopen simulates a restart).
package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hrss-ledger/ledger/eventstore"
)

var _ eventstore.Store = (*Store)(nil)

// data is what survives a simulated restart.
type data struct {
	mu      sync.Mutex
	state   *eventstore.State
	events  []eventstore.Event
	streams map[string][]eventstore.Position
	// appended is closed and replaced at every append, waking subscribers.
	appended chan struct{}
}

// Store is an in-memory log.
type Store struct {
	d      *data
	closed chan struct{}
	once   sync.Once
}

// New returns an empty store.
func New() *Store {
	d := &data{state: eventstore.NewState(), streams: make(map[string][]eventstore.Position), appended: make(chan struct{})}
	return &Store{d: d, closed: make(chan struct{})}
}

// Reopen returns a new store over the same data, as a process restart would
// see it. The receiver should be closed first.
func (s *Store) Reopen() *Store {
	return &Store{d: s.d, closed: make(chan struct{})}
}

func (s *Store) check() error {
	select {
	case <-s.closed:
		return fmt.Errorf("memory: %w", eventstore.ErrClosed)
	default:
		return nil
	}
}

// Append appends one commit.
func (s *Store) Append(ctx context.Context, c eventstore.Commit) (eventstore.Result, error) {
	if err := s.check(); err != nil {
		return eventstore.Result{}, err
	}
	if err := eventstore.ValidateBatch([]eventstore.Commit{c}); err != nil {
		return eventstore.Result{}, fmt.Errorf("memory: append: %w", err)
	}
	rs, err := s.append(func(eventstore.Position) bool { return true }, []eventstore.Commit{c})
	if err != nil {
		return eventstore.Result{}, err
	}
	return rs[0], nil
}

// AppendBatch appends commits atomically if the head is expectedHead.
func (s *Store) AppendBatch(ctx context.Context, expectedHead eventstore.Position, commits []eventstore.Commit) ([]eventstore.Result, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := eventstore.ValidateBatch(commits); err != nil {
		return nil, fmt.Errorf("memory: append batch: %w", err)
	}
	return s.append(func(head eventstore.Position) bool { return head == expectedHead }, commits)
}

func (s *Store) append(headOK func(eventstore.Position) bool, commits []eventstore.Commit) ([]eventstore.Result, error) {
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if head, _ := d.state.Head(); !headOK(head) {
		return nil, fmt.Errorf("memory: append batch: head is %d: %w", head, eventstore.ErrConflict)
	}
	draft := d.state.Draft(time.Now())
	results := make([]eventstore.Result, len(commits))
	for i, c := range commits {
		r, err := draft.Add(c)
		if err != nil {
			return nil, fmt.Errorf("memory: append: %w", &eventstore.CommitError{Index: i, CommandID: c.CommandID, Err: err})
		}
		results[i] = r
	}
	d.state.Apply(draft)
	for _, e := range draft.Events() {
		d.events = append(d.events, e)
		d.streams[e.Stream] = append(d.streams[e.Stream], e.Position)
	}
	close(d.appended)
	d.appended = make(chan struct{})
	return results, nil
}

// Head returns the position of the last event.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	head, _ := s.d.state.Head()
	return head, nil
}

// snapshot returns the events after `after` and a channel closed at the next append.
func (s *Store) snapshot(after eventstore.Position) ([]eventstore.Event, <-chan struct{}) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	events := s.d.events
	if after >= eventstore.Position(len(events)) {
		return nil, s.d.appended
	}
	// The slice is only ever appended to, so this view stays valid unlocked.
	return events[after:len(events):len(events)], s.d.appended
}

// Read calls fn for each event after `after` up to the current head.
func (s *Store) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	if err := s.check(); err != nil {
		return err
	}
	events, _ := s.snapshot(after)
	return deliver(ctx, events, fn)
}

func deliver(ctx context.Context, events []eventstore.Event, fn func(eventstore.Event) error) error {
	for i, e := range events {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Subscribe delivers the events after `after`, then new ones, until ctx
// ends, fn fails or the store closes.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	if err := s.check(); err != nil {
		return err
	}
	for {
		events, next := s.snapshot(after)
		if err := deliver(ctx, events, fn); err != nil {
			return err
		}
		after += eventstore.Position(len(events))
		select {
		case <-next:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return s.check()
		}
	}
}

// ReadStream returns one stream's events in version order.
func (s *Store) ReadStream(ctx context.Context, stream string) ([]eventstore.Event, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	positions := s.d.streams[stream]
	events := make([]eventstore.Event, len(positions))
	for i, p := range positions {
		events[i] = s.d.events[p-1]
	}
	return events, nil
}

// Close closes the store; its data stays available to Reopen.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}
