package kurrentdb

import (
	"github.com/hrss-ledger/ledger/eventstore"
)

// index is what the store knows about the log without asking the server: the
// contract's State (head and its hash to extend the chain, every aggregate's
// version, every command's result for idempotency forever) plus the log
// positions of each aggregate's events, from which ReadStream fetches them.
// It is rebuilt at Open by reading the log once and holds no event bodies:
// about 8 bytes per event plus one entry per aggregate and per command.
type index struct {
	state     *eventstore.State
	positions map[string][]eventstore.Position // aggregate -> positions, version order
}

func newIndex() *index {
	return &index{state: eventstore.NewState(), positions: make(map[string][]eventstore.Position)}
}

// head is the position of the last event the index knows.
func (x *index) head() eventstore.Position {
	head, _ := x.state.Head()
	return head
}

// restore folds an event read back from the log into the index; the State
// checks that it continues the log (position, version, hash chain, command).
func (x *index) restore(e eventstore.Event) error {
	if err := x.state.Restore(e); err != nil {
		return err
	}
	x.positions[e.Stream] = append(x.positions[e.Stream], e.Position)
	return nil
}

// apply makes a draft part of the index once its events are durable.
func (x *index) apply(d *eventstore.Draft) {
	x.state.Apply(d)
	for _, e := range d.Events() {
		x.positions[e.Stream] = append(x.positions[e.Stream], e.Position)
	}
}

// streamPositions returns a copy of an aggregate's positions, safe to use
// after the store's lock is released.
func (x *index) streamPositions(stream string) []eventstore.Position {
	return append([]eventstore.Position(nil), x.positions[stream]...)
}

// runs splits ascending positions into runs of consecutive ones, so that
// ReadStream fetches each run with one read instead of one read per event.
func runs(positions []eventstore.Position) [][]eventstore.Position {
	var out [][]eventstore.Position
	start := 0
	for i := 1; i <= len(positions); i++ {
		if i == len(positions) || positions[i] != positions[i-1]+1 {
			out = append(out, positions[start:i])
			start = i
		}
	}
	return out
}
