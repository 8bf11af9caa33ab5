package kurrentdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/hrss-ledger/ledger/eventstore"
)

// appendRequest is one Append call waiting for the group-commit loop.
type appendRequest struct {
	commit eventstore.Commit
	reply  chan appendReply // buffered: the loop never blocks on a caller
}

type appendReply struct {
	result eventstore.Result
	err    error
}

// Append group-commits: concurrent calls are merged into one append of the
// log stream, one durable write on the server for all of them.
func (s *Store) Append(ctx context.Context, c eventstore.Commit) (eventstore.Result, error) {
	req := &appendRequest{commit: c, reply: make(chan appendReply, 1)}
	select {
	case s.appends <- req:
	case <-s.quit:
		return eventstore.Result{}, eventstore.ErrClosed
	case <-ctx.Done():
		return eventstore.Result{}, fmt.Errorf("kurrentdb: append: %w", ctx.Err())
	}
	select {
	case r := <-req.reply:
		return r.result, r.err
	case <-ctx.Done():
		// The commit may still land; a retry with its CommandID tells.
		return eventstore.Result{}, fmt.Errorf("kurrentdb: append: %w", ctx.Err())
	}
}

// groupCommits is the loop behind Append: it takes every request waiting,
// up to maxGroupCommits, and appends them together.
func (s *Store) groupCommits() {
	defer close(s.flushed)
	for {
		select {
		case <-s.quit:
			return
		case req := <-s.appends:
			for _, chunk := range chunks(s.drain([]*appendRequest{req})) {
				s.commitGroup(chunk)
			}
		}
	}
}

// drain adds to the group every request already waiting, up to the limit.
func (s *Store) drain(group []*appendRequest) []*appendRequest {
	for len(group) < maxGroupCommits {
		select {
		case more := <-s.appends:
			group = append(group, more)
		default:
			return group
		}
	}
	return group
}

// chunks splits a group so that no append exceeds the contract's batch
// limits; a commit over them alone is refused by the draft with ErrInvalid.
func chunks(group []*appendRequest) [][]*appendRequest {
	var out [][]*appendRequest
	start, events, size := 0, 0, 0
	for i, req := range group {
		n, b := len(req.commit.Events), eventstore.CommitBytes(req.commit)
		if i > start && (events+n > eventstore.MaxBatchEvents || size+b > eventstore.MaxBatchBytes) {
			out = append(out, group[start:i])
			start, events, size = i, 0, 0
		}
		events, size = events+n, size+b
	}
	return append(out, group[start:])
}

// commitGroup appends a group of independent commits: each is refused or
// answered on its own (conflict, duplicate, invalid), the rest land together.
// When another writer moved the log first, it catches up and decides again.
func (s *Store) commitGroup(group []*appendRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), groupAppendTimeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	replies := make([]appendReply, len(group))
	var err error
	for attempt := 0; attempt < maxFenceAttempts; attempt++ {
		draft := s.idx.state.Draft(s.now())
		for i, req := range group {
			replies[i].result, replies[i].err = draft.Add(req.commit)
		}
		err = s.write(ctx, draft)
		if !errors.Is(err, eventstore.ErrConflict) {
			break
		}
		if err = s.catchUp(ctx); err != nil {
			break
		}
		err = fmt.Errorf("kurrentdb: append: log moved %d times while appending: %w", maxFenceAttempts, eventstore.ErrConflict)
	}
	for i, req := range group {
		if err != nil && replies[i].err == nil {
			replies[i] = appendReply{err: err}
		}
		req.reply <- replies[i]
	}
}

// AppendBatch appends the commits as one atomic unit if the log head is
// still expectedHead.
func (s *Store) AppendBatch(ctx context.Context, expectedHead eventstore.Position, commits []eventstore.Commit) ([]eventstore.Result, error) {
	if err := eventstore.ValidateBatch(commits); err != nil {
		return nil, err
	}
	if _, err := s.currentClient(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if expectedHead > s.idx.head() {
		// Another writer appended and the caller has read it; so must we,
		// to extend the hash chain from the right event.
		if err := s.catchUp(ctx); err != nil {
			return nil, err
		}
	}
	if head := s.idx.head(); head != expectedHead {
		return nil, fmt.Errorf("kurrentdb: append batch: head is %d, expected %d: %w", head, expectedHead, eventstore.ErrConflict)
	}
	draft := s.idx.state.Draft(s.now())
	results := make([]eventstore.Result, len(commits))
	for i, c := range commits {
		r, err := draft.Add(c)
		if err != nil {
			return nil, &eventstore.CommitError{Index: i, CommandID: c.CommandID, Err: err}
		}
		results[i] = r
	}
	return results, s.write(ctx, draft)
}

// write appends a draft's events to the log stream, guarded by the revision
// of the head the draft was made at, and applies the draft to the index once
// the server has acknowledged it. Retries send the very same events (same
// ids, same expected revision), which the server treats as idempotent.
func (s *Store) write(ctx context.Context, draft *eventstore.Draft) error {
	events := draft.Events()
	if len(events) == 0 {
		return nil
	}
	data, err := s.encode(events)
	if err != nil {
		return err
	}
	opts := esdb.AppendToStreamOptions{ExpectedRevision: expectedRevision(events[0].Position - 1)}
	err = s.call(ctx, "append", func(c *esdb.Client) error {
		_, err := c.AppendToStream(ctx, s.stream, opts, data...)
		return err
	})
	if err != nil {
		return err
	}
	s.idx.apply(draft)
	return nil
}

// encode turns events into the client's form, refusing with ErrInvalid an
// append larger than the server accepts.
func (s *Store) encode(events []eventstore.Event) ([]esdb.EventData, error) {
	data := make([]esdb.EventData, len(events))
	size := 0
	for i, e := range events {
		d, err := toEventData(e)
		if err != nil {
			return nil, err
		}
		data[i] = d
		size += len(d.Data) + len(d.Metadata) + len(d.EventType)
	}
	if size > s.maxAppendBytes {
		return nil, fmt.Errorf("kurrentdb: append of %d bytes, limit %d: %w", size, s.maxAppendBytes, eventstore.ErrInvalid)
	}
	return data, nil
}
