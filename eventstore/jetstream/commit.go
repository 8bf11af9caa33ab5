package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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

// commitLoop is the one goroutine that appends. It takes a request, then
// every request already queued (up to the batch limits), and makes them one
// message; requests arriving meanwhile form the next group.
func (s *Store) commitLoop() {
	defer close(s.done)
	var carry *request
	for {
		select {
		case <-s.closed:
			s.failQueued(carry)
			return
		default:
		}
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-s.requests:
			case <-s.closed:
				s.failQueued(nil)
				return
			}
		}
		var group []*request
		group, carry = s.gather(first)
		s.commitGroup(group)
	}
}

// gather adds queued Append requests to first while the batch limits allow.
// The request that does not fit is returned to start the next group.
func (s *Store) gather(first *request) (group []*request, carry *request) {
	group = []*request{first}
	if first.batch {
		return group, nil
	}
	events, bytes := first.events, first.bytes
	for len(group) < maxGroupCommits {
		select {
		case r := <-s.requests:
			if r.batch || events+r.events > eventstore.MaxBatchEvents || bytes+r.bytes > eventstore.MaxBatchBytes {
				return group, r
			}
			group = append(group, r)
			events += r.events
			bytes += r.bytes
		default:
			return group, nil
		}
	}
	return group, nil
}

func (s *Store) failQueued(carry *request) {
	if carry != nil {
		carry.reply <- reply{err: eventstore.ErrClosed}
	}
	for {
		select {
		case r := <-s.requests:
			r.reply <- reply{err: eventstore.ErrClosed}
		default:
			return
		}
	}
}

// outcome is a group's tentative answer while its batch is in flight.
type outcome struct {
	draft   *eventstore.Draft
	replies []reply
}

// commitGroup makes one group durable and answers every request in it.
func (s *Store) commitGroup(group []*request) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	for attempt := 0; ; attempt++ {
		if err := s.catchUpIfStale(); err != nil {
			answerAll(group, fmt.Errorf("%w: %v", eventstore.ErrUnavailable, err))
			return
		}
		out := s.draft(group)
		if len(out.draft.Events()) == 0 {
			answer(group, out.replies)
			return
		}
		err := s.publish(out.draft)
		switch {
		case err == nil:
			answer(group, out.replies)
			return
		case errors.Is(err, errFenced) && !group[0].batch && attempt < maxFenceRetries:
			// Another writer appended: catch up and decide the group again.
			continue
		case errors.Is(err, errFenced):
			answerAll(group, fmt.Errorf("another writer appended: %w", eventstore.ErrConflict))
			return
		case errors.Is(err, errLanded):
			answer(group, out.replies)
			return
		default:
			answerAll(group, err)
			return
		}
	}
}

// draft decides, against the state, what each request of the group appends.
func (s *Store) draft(group []*request) outcome {
	now := time.Now()
	d := s.state.Draft(now)
	out := outcome{draft: d, replies: make([]reply, len(group))}
	if group[0].batch {
		out.replies[0] = s.addBatch(d, group[0])
		if out.replies[0].err != nil {
			out.draft = s.state.Draft(now) // publish nothing of a refused batch
		}
		return out
	}
	for i, r := range group {
		res, err := d.Add(r.commits[0])
		out.replies[i] = reply{results: []eventstore.Result{res}, err: err}
	}
	return out
}

// addBatch adds all commits of an AppendBatch to d, or reports why not.
func (s *Store) addBatch(d *eventstore.Draft, r *request) reply {
	if head, _ := s.state.Head(); head != r.expectedHead {
		return reply{err: fmt.Errorf("head is %d: %w", head, eventstore.ErrConflict)}
	}
	results := make([]eventstore.Result, len(r.commits))
	for i, c := range r.commits {
		res, err := d.Add(c)
		if err != nil {
			return reply{err: &eventstore.CommitError{Index: i, CommandID: c.CommandID, Err: err}}
		}
		results[i] = res
	}
	return reply{results: results}
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

var (
	// errFenced: the stream's last sequence was not ours; another writer appended.
	errFenced = errors.New("jetstream: stream moved under the store")
	// errLanded: the publish's answer was lost but the message is in the stream.
	errLanded = errors.New("jetstream: batch landed")
)

// publish writes the draft as one message and, once JetStream acknowledged
// it (after fsync), applies it to the state.
func (s *Store) publish(d *eventstore.Draft) error {
	s.batch++
	events := d.Events()
	msg := &nats.Msg{Subject: s.cfg.subject, Data: encodeBatch(nil, s.writer, s.batch, events), Header: nats.Header{}}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	ack, err := s.js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequence(s.lastSeq))
	if err == nil {
		if ack.Sequence != s.lastSeq+1 {
			panic(fmt.Sprintf("jetstream: publish expecting last sequence %d was stored at %d", s.lastSeq, ack.Sequence))
		}
		s.apply(d, ack.Sequence)
		if s.cache != nil {
			s.cache.add(ack.Sequence, msg.Data)
		}
		return nil
	}
	var apiErr *jetstream.APIError
	switch {
	case errors.As(err, &apiErr) && isWrongLastSequence(apiErr.ErrorCode):
		// Catching up happens before the next attempt (catchUpIfStale).
		s.stale = true
		return errFenced
	case errors.As(err, &apiErr):
		// The server answered, so it did not store the message.
		return fmt.Errorf("%w: %v", eventstore.ErrUnavailable, err)
	}
	return s.resolve(err)
}

func isWrongLastSequence(code jetstream.ErrorCode) bool {
	return code == jetstream.JSErrCodeStreamWrongLastSequence || code == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// resolve learns, from the stream, whether a publish without an answer
// landed. Until it knows, the store refuses to write.
func (s *Store) resolve(publishErr error) error {
	s.stale = true
	if err := s.catchUpIfStale(); err != nil {
		return fmt.Errorf("%w: outcome unknown, retry with the same command id: %v (then %v)", eventstore.ErrUnavailable, publishErr, err)
	}
	if s.landed == s.batch {
		return errLanded
	}
	return fmt.Errorf("%w: not stored: %v", eventstore.ErrUnavailable, publishErr)
}

// catchUpIfStale catches up with the stream after a publish without an
// answer, retrying within resolveTimeout.
func (s *Store) catchUpIfStale() error {
	if !s.stale {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	var err error
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		if err = s.catchUpLocked(ctx); err == nil {
			s.stale = false
			return nil
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}

// apply records a durable batch stored at seq.
func (s *Store) apply(d *eventstore.Draft, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Apply(d)
	s.index(seq, d.Events())
}

// index records where a batch's events are; callers hold mu.
func (s *Store) index(seq uint64, events []eventstore.Event) {
	s.lastSeq = seq
	s.firstPos = append(s.firstPos, events[0].Position)
	for _, e := range events {
		seqs := s.streams[e.Stream]
		if len(seqs) == 0 || seqs[len(seqs)-1] != seq {
			s.streams[e.Stream] = append(seqs, seq)
		}
	}
}
