package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/hrss-ledger/ledger/eventstore"
)

// errStop ends a read early; the reason is kept beside it, unmapped.
var errStop = errors.New("kurrentdb: read stopped")

// Head reads the last event of the log stream from the server, so it sees
// what other writers appended.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	var head eventstore.Position
	err := s.call(ctx, "head", func(c *esdb.Client) error {
		stream, err := c.ReadStream(ctx, s.stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
		if err != nil {
			return err
		}
		defer stream.Close()
		r, err := stream.Recv()
		if err != nil {
			return err
		}
		head = positionOf(r.Event.EventNumber)
		return nil
	})
	if errors.Is(err, errNoStream) || errors.Is(err, io.EOF) {
		return 0, nil
	}
	return head, err
}

// Read delivers the events after `after` up to the head as of the call.
func (s *Store) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	head, err := s.Head(ctx)
	if err != nil {
		return err
	}
	for after < head {
		last, err := s.readPage(ctx, after, min(head-after, maxReadEvents), fn)
		if err != nil {
			return err
		}
		if last == after {
			return fmt.Errorf("kurrentdb: read: log ends at %d, before its head %d: %w", after, head, eventstore.ErrCorrupt)
		}
		after = last
	}
	return nil
}

// ReadStream returns one aggregate's events. The index knows their positions
// (after catching up with other writers); each run of consecutive positions
// is fetched with one read.
func (s *Store) ReadStream(ctx context.Context, stream string) ([]eventstore.Event, error) {
	s.mu.Lock()
	err := s.catchUp(ctx)
	positions := s.idx.streamPositions(stream)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	events := make([]eventstore.Event, 0, len(positions))
	for _, run := range runs(positions) {
		_, err := s.readPage(ctx, run[0]-1, uint64(len(run)), func(e eventstore.Event) error {
			if e.Stream != stream {
				return fmt.Errorf("kurrentdb: position %d holds %s, index says %s: %w", e.Position, e.Stream, stream, eventstore.ErrCorrupt)
			}
			events = append(events, e)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return events, nil
}

// catchUp folds into the index whatever the log holds beyond its head.
// The caller holds s.mu.
func (s *Store) catchUp(ctx context.Context) error {
	for {
		head := s.idx.head()
		last, err := s.readPage(ctx, head, maxReadEvents, s.idx.restore)
		if err != nil {
			return err
		}
		if last-head < maxReadEvents {
			return nil
		}
	}
}

// readPage delivers up to count events after position `after`, in order and
// without gaps, and returns the position of the last one delivered. A
// transient failure resumes after that one; an error from fn stops the read
// and is returned as is. A missing log stream is an empty log.
func (s *Store) readPage(ctx context.Context, after, count uint64, fn func(eventstore.Event) error) (eventstore.Position, error) {
	last := after
	var stopped error
	err := s.call(ctx, "read", func(c *esdb.Client) error {
		stream, err := c.ReadStream(ctx, s.stream, esdb.ReadStreamOptions{From: readFrom(last)}, count-(last-after))
		if err != nil {
			return err
		}
		defer stream.Close()
		for last-after < count {
			r, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if stopped = deliver(r.Event, last, fn); stopped != nil {
				return errStop
			}
			last++
		}
		return nil
	})
	if stopped != nil {
		return last, stopped
	}
	if errors.Is(err, errNoStream) {
		return last, nil
	}
	return last, err
}

// deliver decodes one recorded event and hands it to fn if it is the one
// after `last`.
func deliver(r *esdb.RecordedEvent, last eventstore.Position, fn func(eventstore.Event) error) error {
	e, err := fromRecorded(r)
	if err != nil {
		return err
	}
	if e.Position != last+1 {
		return fmt.Errorf("kurrentdb: event at position %d after %d: %w", e.Position, last, eventstore.ErrCorrupt)
	}
	return fn(e)
}
