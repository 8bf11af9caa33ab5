package jetstream

import (
	"context"
	"fmt"

	"github.com/hrss-ledger/ledger/eventstore"
)

// maxGroupCommits bounds the Append calls one group commit answers, beside
// the contract's event and byte limits per batch.
const maxGroupCommits = 4096

// request is one Append (a single commit) or one AppendBatch (alone in its
// message, checked against expectedHead).
type request struct {
	commits      []eventstore.Commit
	batch        bool
	expectedHead eventstore.Position
	events       int
	bytes        int
	attempts     int        // times fenced off by another writer
	reply        chan reply // buffered: the committer never blocks on a caller
}

type reply struct {
	results []eventstore.Result
	err     error
}

// Append appends one commit, sharing a durable write with concurrent calls.
func (s *Store) Append(ctx context.Context, c eventstore.Commit) (eventstore.Result, error) {
	commits := []eventstore.Commit{c}
	if err := eventstore.ValidateBatch(commits); err != nil {
		return eventstore.Result{}, fmt.Errorf("jetstream: append: %w", err)
	}
	rs, err := s.submit(ctx, &request{commits: commits})
	if err != nil {
		return eventstore.Result{}, fmt.Errorf("jetstream: append %s: %w", c.CommandID, err)
	}
	return rs[0], nil
}

// AppendBatch appends commits as one message if the head is expectedHead.
func (s *Store) AppendBatch(ctx context.Context, expectedHead eventstore.Position, commits []eventstore.Commit) ([]eventstore.Result, error) {
	if err := eventstore.ValidateBatch(commits); err != nil {
		return nil, fmt.Errorf("jetstream: append batch: %w", err)
	}
	rs, err := s.submit(ctx, &request{commits: commits, batch: true, expectedHead: expectedHead})
	if err != nil {
		return nil, fmt.Errorf("jetstream: append batch at %d: %w", expectedHead, err)
	}
	return rs, nil
}

// submit queues a request for the committer and waits for its answer. A
// caller that gives up (ctx) leaves the request to complete or fail on its
// own; retrying with the same CommandID then tells which.
func (s *Store) submit(ctx context.Context, r *request) ([]eventstore.Result, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	for _, c := range r.commits {
		r.events += len(c.Events)
		r.bytes += eventstore.CommitBytes(c)
	}
	r.reply = make(chan reply, 1)
	select {
	case s.requests <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, eventstore.ErrClosed
	}
	select {
	case rep := <-r.reply:
		return rep.results, rep.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		select {
		case rep := <-r.reply:
			return rep.results, rep.err
		default:
			return nil, eventstore.ErrClosed
		}
	}
}

func answer(group []*request, replies []reply) {
	for i, r := range group {
		r.reply <- replies[i]
	}
}

func answerAll(group []*request, err error) {
	for _, r := range group {
		r.reply <- reply{err: err}
	}
}

// applyLocked records a durable batch stored at seq; callers hold mu.
func (s *Store) applyLocked(d *eventstore.Draft, seq uint64) {
	s.state.Apply(d)
	s.index(seq, d.Events())
}

// index records where a batch's events are; callers hold mu.
func (s *Store) index(seq uint64, events []eventstore.Event) {
	s.lastSeq = seq
	s.firstPos = append(s.firstPos, events[0].Position)
}
