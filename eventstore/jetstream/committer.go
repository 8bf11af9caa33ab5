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

// maxInflightBatches is how many batches may be published and not yet
// acknowledged. Each is fenced on the one before it by its expected last
// sequence, so they land in order or not at all. Measured with 64 writers:
// two in flight halve the batch (the server fsyncs each message on its own)
// and lose a third of the throughput, so one it is; lingering for a fuller
// batch (groupLinger) pays instead.
const maxInflightBatches = 1

// groupLinger is the longest a batch waits for more Append calls: about
// half an fsync on the machines measured, so waiting pays when it fills
// the batch.
const groupLinger = 250 * time.Microsecond

// flight is a published batch waiting for its acknowledgement.
type flight struct {
	group []*request
	out   outcome
	fut   jetstream.PubAckFuture
	data  []byte
	batch uint64
}

// outcome is a group's tentative answer while its batch is in flight.
type outcome struct {
	draft   *eventstore.Draft
	replies []reply
}

// commitLoop is the one goroutine that appends and the only one that
// changes the state. It takes a request, then every request already queued
// (up to the batch limits), and publishes them as one message; requests that
// arrive meanwhile form the next batch, published while the first one is
// made durable.
func (s *Store) commitLoop() {
	defer close(s.done)
	var inflight []*flight
	var queue []*request // to start before new requests: leftovers and retries
	for {
		closing := isClosed(s.closed)
		if closing && len(inflight) == 0 {
			s.failQueued(queue)
			return
		}
		if !closing && len(inflight) < maxInflightBatches {
			if r := s.next(&queue, len(inflight) == 0); r != nil {
				inflight = s.launch(r, &queue, inflight)
				continue
			}
			if len(inflight) == 0 {
				continue // woken by Close
			}
		}
		wake := !closing && len(inflight) < maxInflightBatches && len(queue) == 0
		inflight, queue = s.land(inflight, queue, wake)
	}
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// next returns the request to start now, or nil. An AppendBatch starts only
// when nothing is in flight, as it is checked against a settled head.
func (s *Store) next(queue *[]*request, idle bool) *request {
	if len(*queue) > 0 {
		r := (*queue)[0]
		if r.batch && !idle {
			return nil
		}
		*queue = (*queue)[1:]
		return r
	}
	if idle {
		select {
		case r := <-s.requests:
			return r
		case <-s.closed:
			return nil
		}
	}
	select {
	case r := <-s.requests:
		if r.batch {
			*queue = append(*queue, r)
			return nil
		}
		return r
	default:
		return nil
	}
}

// gather adds queued Append requests to first while the batch limits allow;
// a request that does not fit goes back to the queue.
func (s *Store) gather(first *request, queue *[]*request) []*request {
	group := []*request{first}
	if first.batch {
		return group
	}
	events, bytes := first.events, first.bytes
	take := func(r *request) bool {
		if r.batch || events+r.events > eventstore.MaxBatchEvents || bytes+r.bytes > eventstore.MaxBatchBytes || len(group) >= maxGroupCommits {
			return false
		}
		group = append(group, r)
		events += r.events
		bytes += r.bytes
		return true
	}
	for len(*queue) > 0 && take((*queue)[0]) {
		*queue = (*queue)[1:]
	}
	for len(*queue) == 0 {
		select {
		case r := <-s.requests:
			if !take(r) {
				*queue = append(*queue, r)
			}
			continue
		default:
		}
		break
	}
	s.linger(take, queue, s.lastGroupLen-len(group))
	s.lastGroupLen = len(group)
	return group
}

// linger waits up to groupLinger for the callers of the last batch to come
// back, when fewer have than were in it: one fsync then serves them all.
func (s *Store) linger(take func(*request) bool, queue *[]*request, missing int) {
	if missing <= 0 || len(*queue) > 0 {
		return
	}
	t := time.NewTimer(groupLinger)
	defer t.Stop()
	for ; missing > 0 && len(*queue) == 0; missing-- {
		select {
		case r := <-s.requests:
			if !take(r) {
				*queue = append(*queue, r)
			}
		case <-t.C:
			return
		}
	}
}

func (s *Store) failQueued(queue []*request) {
	answerAll(queue, eventstore.ErrClosed)
	for {
		select {
		case r := <-s.requests:
			r.reply <- reply{err: eventstore.ErrClosed}
		default:
			return
		}
	}
}

// launch decides a group and publishes it, chained after the flights.
func (s *Store) launch(first *request, queue *[]*request, inflight []*flight) []*flight {
	if err := s.catchUpIfStale(); err != nil {
		answerAll(append([]*request{first}, *queue...), fmt.Errorf("%w: %v", eventstore.ErrUnavailable, err))
		*queue = nil
		return inflight
	}
	group := s.gather(first, queue)
	var parent *eventstore.Draft
	if len(inflight) > 0 {
		parent = inflight[len(inflight)-1].out.draft
	}
	out := s.decide(group, parent)
	if len(out.draft.Events()) == 0 {
		answer(group, out.replies)
		return inflight
	}
	s.batch++
	data := encodeBatch(nil, s.writer, s.batch, out.draft.Events())
	msg := &nats.Msg{Subject: s.cfg.subject, Data: data, Header: nats.Header{}}
	expected := s.lastSeq + uint64(len(inflight))
	fut, err := s.js.PublishMsgAsync(msg, jetstream.WithExpectLastSequence(expected))
	if err != nil {
		// Not sent: nothing can land, and no flight chains on this one.
		answerAll(group, fmt.Errorf("%w: %v", eventstore.ErrUnavailable, err))
		return inflight
	}
	return append(inflight, &flight{group: group, out: out, fut: fut, data: data, batch: s.batch})
}

// decide drafts what each request of the group appends, after parent.
func (s *Store) decide(group []*request, parent *eventstore.Draft) outcome {
	now := time.Now()
	newDraft := func() *eventstore.Draft {
		if parent != nil {
			return parent.Next(now)
		}
		return s.state.Draft(now)
	}
	out := outcome{draft: newDraft(), replies: make([]reply, len(group))}
	if group[0].batch {
		out.draft, out.replies[0] = s.addBatch(out.draft, group[0])
		if out.replies[0].err != nil {
			out.draft = newDraft() // publish nothing of a refused batch
		}
		return out
	}
	for i, r := range group {
		res, err := out.draft.Add(r.commits[0])
		out.replies[i] = reply{results: []eventstore.Result{res}, err: err}
	}
	return out
}

// addBatch adds all commits of an AppendBatch to d, or reports why not. A
// head the state has not reached may have been written by another writer:
// the store catches up before it compares, and then drafts on the caught-up
// state. It returns the draft to publish: the one it filled, which is a new
// one after a catch-up.
func (s *Store) addBatch(d *eventstore.Draft, r *request) (*eventstore.Draft, reply) {
	if head, _ := s.state.Head(); head < r.expectedHead {
		s.stale = true
		if err := s.catchUpIfStale(); err != nil {
			return d, reply{err: fmt.Errorf("%w: %v", eventstore.ErrUnavailable, err)}
		}
		d = s.state.Draft(time.Now())
	}
	if head, _ := s.state.Head(); head != r.expectedHead {
		return d, reply{err: fmt.Errorf("head is %d: %w", head, eventstore.ErrConflict)}
	}
	results := make([]eventstore.Result, len(r.commits))
	for i, c := range r.commits {
		res, err := d.Add(c)
		if err != nil {
			return d, reply{err: &eventstore.CommitError{Index: i, CommandID: c.CommandID, Err: err}}
		}
		results[i] = res
	}
	return d, reply{results: results}
}

// land waits for the oldest flight's acknowledgement (or, when wake is set,
// for a new request, so that it can start alongside).
func (s *Store) land(inflight []*flight, queue []*request, wake bool) ([]*flight, []*request) {
	var requests chan *request
	if wake {
		requests = s.requests
	}
	oldest := inflight[0]
	select {
	case ack := <-oldest.fut.Ok():
		if ack.Sequence != s.lastSeq+1 {
			panic(fmt.Sprintf("jetstream: batch expecting last sequence %d was stored at %d", s.lastSeq, ack.Sequence))
		}
		// The callers are answered first, under the lock, then the state
		// takes the batch: their next appends queue while it does, and a
		// read they make waits on mu until the batch is visible, so
		// read-after-write holds. With 64 writers this takes the state's
		// work off the path between one fsync and the next.
		s.mu.Lock()
		answer(oldest.group, oldest.out.replies)
		s.applyLocked(oldest.out.draft, ack.Sequence)
		if s.cache != nil {
			s.cache.add(ack.Sequence, oldest.data)
		}
		s.mu.Unlock()
		return inflight[1:], queue
	case err := <-oldest.fut.Err():
		return nil, s.recover(inflight, queue, err)
	case r := <-requests:
		return inflight, append(queue, r)
	}
}

// recover settles every flight after one failed. What landed is learnt from
// the stream, never from acknowledgements that may be lost: the store
// catches up, answers the groups whose batch it finds, retries Append groups
// fenced off by another writer, and refuses the rest. It returns the queue.
func (s *Store) recover(inflight []*flight, queue []*request, first error) []*request {
	errs := []error{first}
	for _, f := range inflight[1:] {
		select {
		case <-f.fut.Ok():
			errs = append(errs, nil)
		case err := <-f.fut.Err():
			errs = append(errs, err)
		}
	}
	s.stale = true
	s.landed = make(map[uint64]bool)
	caughtUp := s.catchUpIfStale()
	var retry []*request
	for i, f := range inflight {
		switch {
		case caughtUp != nil:
			answerAll(f.group, fmt.Errorf("%w: outcome unknown, retry with the same command id: %v (then %v)",
				eventstore.ErrUnavailable, errs[i], caughtUp))
		case s.landed[f.batch]:
			answer(f.group, f.out.replies)
		case !isFenced(errs[i]):
			answerAll(f.group, fmt.Errorf("%w: not stored: %v", eventstore.ErrUnavailable, errs[i]))
		case f.group[0].batch:
			answerAll(f.group, fmt.Errorf("another writer appended: %w", eventstore.ErrConflict))
		default:
			retry = append(retry, fenced(f.group)...)
		}
	}
	return append(retry, queue...)
}

// fenced returns the requests to retry after another writer appended, and
// refuses those that have been fenced off too often.
func fenced(group []*request) []*request {
	var retry []*request
	for _, r := range group {
		if r.attempts++; r.attempts > maxFenceRetries {
			r.reply <- reply{err: fmt.Errorf("other writers keep appending: %w", eventstore.ErrConflict)}
			continue
		}
		retry = append(retry, r)
	}
	return retry
}

// isFenced tells a refusal because the stream's last sequence moved, which
// is also how the later flights fail after an earlier one did.
func isFenced(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// catchUpIfStale catches up with the stream when it may hold messages the
// state lacks (another writer appended, or a publish went unanswered),
// retrying within resolveTimeout.
func (s *Store) catchUpIfStale() error {
	if !s.stale {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	var err error
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		if err = s.catchUp(ctx); err == nil {
			s.stale = false
			return nil
		}
		if errors.Is(err, eventstore.ErrCorrupt) || errors.Is(err, errBadPayload) {
			// The stream holds what the ledger never wrote: waiting will
			// not mend it, so refuse at once (an auditor's case now).
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}
