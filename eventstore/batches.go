package eventstore

import (
	"context"
	"errors"
	"fmt"
)

// BatchReader is an optional fast path of a Store for long reads (a
// rebuild, an audit). A backend that keeps many events per record, such as
// JetStream with one message per group commit, hands over a record's
// events at once, instead of calling back once per event.
type BatchReader interface {
	// ReadBatches calls fn with runs of the events after position `after`,
	// in order, up to the head as of the call. Every run holds at least one
	// event, each run follows the one before without gap or overlap, and
	// together they hold exactly the events Read would deliver. An error
	// from fn stops the read and is returned.
	//
	// The slice belongs to the backend and is valid only during the call:
	// fn must neither keep nor modify it, and copies the events it keeps.
	// The events themselves are immutable values the caller may keep, Data
	// and strings included, like those Read delivers.
	ReadBatches(ctx context.Context, after Position, fn func([]Event) error) error
}

// RangeReader is an optional fast path of a Store for reads of a few
// events: a read that ends at a position instead of at the head. Through
// Read alone, a store that decodes ahead of its reader (JetStream's cache
// scan reads a MB and up to a few hundred messages ahead) decodes thousands
// of events to deliver one.
type RangeReader interface {
	// ReadRange calls fn with runs of the events after position `after` up
	// to `last`, as ReadBatches does, and stops there; the last run may go
	// past `last`, and the caller ignores the events that do.
	ReadRange(ctx context.Context, after, last Position, fn func([]Event) error) error
}

// EventReader is the part of a Store that ReadBatches needs.
type EventReader interface {
	Read(ctx context.Context, after Position, fn func(Event) error) error
}

// ReadBatches reads r in runs of events under the contract of
// BatchReader.ReadBatches: through r's own fast path when it has one,
// otherwise through Read, one event per run.
func ReadBatches(ctx context.Context, r EventReader, after Position, fn func([]Event) error) error {
	if br, ok := r.(BatchReader); ok {
		return br.ReadBatches(ctx, after, fn)
	}
	run := make([]Event, 1)
	return r.Read(ctx, after, func(e Event) error {
		run[0] = e
		return fn(run)
	})
}

// errFound stops a read at the event EventAt came for.
var errFound = errors.New("eventstore: found")

// EventAt returns the event at position p (p ≥ 1), and false when the log
// holds no event there; events before p that r delivers again are skipped.
// Snapshots and sealed segments use it to check that the log still has, at
// their position, the event they were taken at. A RangeReader reads no
// further than p.
func EventAt(ctx context.Context, r EventReader, p Position) (Event, bool, error) {
	var found Event
	take := func(e Event) error {
		switch {
		case e.Position < p: // a reader that delivers at least once may repeat some
			return nil
		case e.Position > p:
			return fmt.Errorf("eventstore: read position %d, got %d: %w", p, e.Position, ErrCorrupt)
		}
		found = e
		return errFound
	}
	var err error
	if rr, ok := r.(RangeReader); ok {
		err = rr.ReadRange(ctx, p-1, p, func(run []Event) error {
			for _, e := range run {
				if err := take(e); err != nil {
					return err
				}
			}
			return nil
		})
	} else {
		err = r.Read(ctx, p-1, take)
	}
	switch {
	case errors.Is(err, errFound):
		return found, true, nil
	case err != nil:
		return Event{}, false, err
	}
	return Event{}, false, nil
}
