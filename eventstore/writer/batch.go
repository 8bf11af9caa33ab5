package writer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/replay"
)

// ErrFingerprintMismatch: a command id was reused for a different command.
var ErrFingerprintMismatch = eventstore.ErrIdempotencyMismatch

// decision is one command of a batch after Decide.
type decision struct {
	p         *pending
	commit    *eventstore.Commit // nil when refused, duplicate or repeated
	outcome   Outcome
	duplicate *eventstore.Result // the command id was applied before this batch, there
	repeated  bool               // the same command came earlier in this batch, at index repeats
	repeats   int
	err       error
}

// seen is a command accepted earlier in the batch being decided.
type seen struct {
	index       int
	fingerprint string
}

// process decides and appends a batch, in as many appends as the store's
// per-append limits need.
func (w *Writer) process(batch []*pending) {
	for len(batch) > 0 {
		batch = batch[w.processPrefix(batch):]
	}
}

// processPrefix decides the longest prefix of batch that fits one append
// against the tentative state and appends it; on a conflict with another
// writer it catches up and decides again. It returns how many commands of
// batch it answered (at least one).
func (w *Writer) processPrefix(batch []*pending) int {
	for attempt := 0; ; attempt++ {
		decisions := w.decideAll(batch)
		if attempt < maxConflictRetries && w.refusedOnStaleState(decisions) {
			// Another writer appended since our state was built: a refusal
			// (no funds, unknown id) may be wrong now, so decide again on
			// the newer state rather than refuse what the log allows.
			w.ledger.Rollback()
			if w.catchUp(context.Background()) == nil {
				continue
			}
		}
		err := w.appendAll(decisions)
		if err == nil {
			w.answer(decisions)
			return len(decisions)
		}
		w.ledger.Rollback()
		if errors.Is(err, eventstore.ErrConflict) {
			if attempt >= maxConflictRetries {
				// Nothing of this batch was appended: the client may retry
				// with the same key, so say "unavailable", not "conflict".
				err = fmt.Errorf("%w: other writers kept appending (%d attempts)", eventstore.ErrUnavailable, attempt+1)
			} else if cerr := w.catchUp(context.Background()); cerr != nil {
				err = cerr
			} else {
				conflictBackoff(attempt)
				continue
			}
		}
		for i := range decisions {
			if decisions[i].commit != nil {
				decisions[i].err = err
				decisions[i].commit = nil
			}
		}
		w.answer(decisions)
		return len(decisions)
	}
}

// conflictBackoff waits a random time, growing with the attempts, before a
// writer that lost a race with another writer tries again: two writers that
// retry at once would fence each other off again and again.
func conflictBackoff(attempt int) {
	ceiling := min(conflictBackoffBase<<attempt, conflictBackoffMax)
	time.Sleep(rand.N(ceiling))
}

// refusedOnStaleState reports whether the batch refused a command while
// the log has moved past the state it was decided on. It asks the store
// only when there is a refusal, so a batch of accepted commands pays nothing.
func (w *Writer) refusedOnStaleState(decisions []decision) bool {
	refused := false
	for _, d := range decisions {
		var de *domain.Error
		if errors.As(d.err, &de) {
			refused = true
			break
		}
	}
	if !refused {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	defer cancel()
	head, err := w.store.Head(ctx)
	return err == nil && head > w.head
}

// decideAll decides commands in order, each seeing the effects of the ones
// before it in the same batch. It stops before the first accepted command
// that would take the append over the store's limits (eventstore.MaxBatchEvents,
// MaxBatchBytes), which would refuse the whole batch: that command and the
// rest wait for the next append.
func (w *Writer) decideAll(batch []*pending) []decision {
	w.ledger.Mark()
	inBatch := make(map[string]seen, len(batch))
	decisions := make([]decision, 0, len(batch))
	var used room
	for i, p := range batch {
		d := w.decide(p, inBatch)
		if d.commit != nil {
			if !used.take(d.commit) {
				break
			}
			w.accept(d, i, inBatch)
		}
		decisions = append(decisions, d)
	}
	return decisions
}

// room is what a batch has used of the store's per-append limits.
type room struct{ events, bytes int }

// take adds c if it fits. An empty room takes any commit decide let through.
func (r *room) take(c *eventstore.Commit) bool {
	events, bytes := r.events+len(c.Events), r.bytes+eventstore.CommitBytes(*c)
	if events > eventstore.MaxBatchEvents || bytes > eventstore.MaxBatchBytes {
		return false
	}
	r.events, r.bytes = events, bytes
	return true
}

// decide decides one command against the tentative state, without changing it.
func (w *Writer) decide(p *pending, inBatch map[string]seen) decision {
	req := p.req
	if p.probe {
		return decision{p: p} // answered after the batch is appended
	}
	if prior, ok := w.command(req.CommandID); ok {
		if !prior.Matches(req.Fingerprint) {
			return decision{p: p, err: ErrFingerprintMismatch}
		}
		r := prior.Result()
		return decision{p: p, duplicate: &r}
	}
	if first, ok := inBatch[req.CommandID]; ok {
		// The same command twice in one batch: the second is answered as a
		// duplicate of the first once the batch is appended.
		if first.fingerprint != req.Fingerprint {
			return decision{p: p, err: ErrFingerprintMismatch}
		}
		return decision{p: p, repeated: true, repeats: first.index}
	}
	events, err := w.ledger.Decide(req.Command)
	if err != nil {
		return decision{p: p, err: err}
	}
	commit, err := envelope(req, events)
	if err != nil {
		return decision{p: p, err: err}
	}
	// A commit the store would refuse on its own (no command id, over the
	// limits) must not sink the batch it would join.
	if err := eventstore.ValidateBatch([]eventstore.Commit{*commit}); err != nil {
		return decision{p: p, err: fmt.Errorf("writer: command %q: %w", req.CommandID, err)}
	}
	return decision{p: p, commit: commit, outcome: Outcome{Events: events}}
}

// accept applies an accepted command's events to the tentative state.
func (w *Writer) accept(d decision, index int, inBatch map[string]seen) {
	for _, e := range d.outcome.Events {
		w.ledger.Evolve(e)
	}
	inBatch[d.p.req.CommandID] = seen{index: index, fingerprint: d.p.req.Fingerprint}
}

// envelope turns domain events into the log's envelope.
func envelope(req Request, events []domain.Event) (*eventstore.Commit, error) {
	commit := &eventstore.Commit{CommandID: req.CommandID, Fingerprint: req.Fingerprint}
	for _, e := range events {
		typ, data, err := domain.Encode(e)
		if err != nil {
			return nil, fmt.Errorf("writer: encode %T: %w", e, err)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("writer: event id: %w", err)
		}
		commit.Events = append(commit.Events, eventstore.Event{
			ID:     id,
			Stream: e.StreamID(),
			Type:   typ,
			Data:   data,
			Meta: eventstore.Meta{
				BusinessDate:  e.BusinessDate().String(),
				Actor:         req.Actor,
				CommandID:     req.CommandID,
				CorrelationID: req.CorrelationID,
				Fingerprint:   req.Fingerprint,
			},
		})
	}
	return commit, nil
}

// appendAll appends the accepted commits of a batch as one atomic unit,
// guarded by the head they were decided at.
func (w *Writer) appendAll(decisions []decision) error {
	var commits []eventstore.Commit
	for _, d := range decisions {
		if d.commit != nil {
			commits = append(commits, *d.commit)
		}
	}
	if len(commits) == 0 {
		w.ledger.Mark()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	defer cancel()
	results, err := w.store.AppendBatch(ctx, w.head, commits)
	if err != nil {
		return fmt.Errorf("writer: append batch at %d: %w", w.head, err)
	}
	if duplicated(results) {
		return w.settleDuplicates(decisions, results)
	}
	known := w.commandsKnown()
	i := 0
	for k := range decisions {
		d := &decisions[k]
		if d.commit == nil {
			continue
		}
		w.settle(d.commit, results[i], known)
		d.outcome.First, d.outcome.Last = results[i].First, results[i].Last
		i++
	}
	w.ledger.Mark()
	w.refreshIfDue()
	return nil
}

// duplicated reports whether the store answered a commit of the batch as a
// command applied before.
func duplicated(results []eventstore.Result) bool {
	for _, r := range results {
		if r.Duplicate {
			return true
		}
	}
	return false
}

// settleDuplicates answers a batch in which the store found commands that
// this writer took for new. commands.go argues that it cannot happen; if it
// does, the tentative state holds those commands' effects twice, so it is
// thrown away and rebuilt from the log, where the batch's other commits
// landed, and the duplicates are answered as duplicates.
func (w *Writer) settleDuplicates(decisions []decision, results []eventstore.Result) error {
	w.ledger.Rollback()
	if err := w.catchUp(context.Background()); err != nil {
		return fmt.Errorf("writer: rebuild after the store found a duplicate in the batch: %w", err)
	}
	i := 0
	for k := range decisions {
		d := &decisions[k]
		if d.commit == nil {
			continue
		}
		r := results[i]
		i++
		d.outcome.First, d.outcome.Last = r.First, r.Last
		if r.Duplicate {
			d.commit, d.duplicate = nil, &r
		}
	}
	return nil
}

// settle records where a commit landed: the head, and the command in the
// writer's own index unless the store already knows it.
func (w *Writer) settle(c *eventstore.Commit, r eventstore.Result, known eventstore.Position) {
	w.head = r.Last
	w.visible.Store(r.Last)
	if r.Last > known {
		w.remember(eventstore.KeyOf(c.CommandID), c.Fingerprint, r)
	}
}

// answer replies to every command of the batch.
func (w *Writer) answer(decisions []decision) {
	for _, d := range decisions {
		d.p.reply <- w.replyTo(d, decisions)
	}
}

func (w *Writer) replyTo(d decision, decisions []decision) reply {
	switch {
	case d.err != nil:
		return reply{err: d.err}
	case d.p.probe:
		// Asked now, after the append, so that a command queued before the
		// probe in the same batch counts as applied.
		_, applied := w.command(d.p.req.CommandID)
		return reply{outcome: Outcome{Duplicate: applied}}
	case d.repeated:
		first := decisions[d.repeats]
		out := first.outcome
		out.Duplicate = true
		return reply{outcome: out, err: first.err}
	case d.duplicate != nil:
		return reply{outcome: Outcome{First: d.duplicate.First, Last: d.duplicate.Last, Duplicate: true}, readBack: true}
	default:
		return reply{outcome: d.outcome}
	}
}

// eventsBetween reads back the events at positions first..last.
func (w *Writer) eventsBetween(first, last eventstore.Position) ([]domain.Event, error) {
	events := make([]domain.Event, 0, last-first+1)
	errDone := errors.New("done")
	err := w.store.Read(context.Background(), first-1, func(e eventstore.Event) error {
		ev, err := domain.Decode(e.Type, e.Data)
		if err != nil {
			return fmt.Errorf("decode position %d: %w", e.Position, err)
		}
		events = append(events, ev)
		if e.Position >= last {
			return errDone
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDone) {
		return nil, fmt.Errorf("writer: read back %d..%d: %w", first, last, err)
	}
	return events, nil
}

// catchUp applies every event after the current head to the state. The
// events are durable, so the state is marked at the end (and every
// catchUpMarkEvents events, to bound the undo journal of a long catch-up);
// the first rebuild, before any mark, journals nothing at all.
func (w *Writer) catchUp(ctx context.Context) error {
	defer func() {
		w.ledger.Mark()
		w.marked = true
	}()
	// Commands at or below known are the store's to remember; sampled
	// before reading, as it only grows.
	run := &catchUpRun{known: w.commandsKnown()}
	if m := w.cfg.replay; m != nil {
		// At open, the log's events come decoded from the read the views
		// share (replay.Feed); whatever was appended since is read below.
		w.cfg.replay = nil
		if err := m.Read(ctx, w.head, func(b replay.Batch) error { return w.foldAll(run, b.Events, b.Decoded) }); err != nil {
			return err
		}
	}
	// Events are decoded on every core and folded in log order here: at
	// open, a replay of the whole log spends a fifth of its time decoding.
	return eventstore.ReadInParallel(ctx, w.store, w.head, eventstore.Pipeline[eventstore.Event, replay.Decoded]{
		Size: catchUpRunEvents,
		Keep: func(e *eventstore.Event) eventstore.Event { return *e },
		NewWorker: func() func([]eventstore.Event, []replay.Decoded) {
			syms := domain.NewSymbols() // shares the values repeated across events as they are decoded
			return func(events []eventstore.Event, out []replay.Decoded) {
				for i := range events {
					out[i] = replay.Decode(&events[i], syms)
				}
			}
		},
		Consume: func(events []eventstore.Event, decoded []replay.Decoded) error {
			return w.foldAll(run, events, decoded)
		},
	})
}

// foldAll folds a run of events and their decodings.
func (w *Writer) foldAll(run *catchUpRun, events []eventstore.Event, decoded []replay.Decoded) error {
	for i := range events {
		if err := w.fold(run, &events[i], decoded[i]); err != nil {
			return err
		}
	}
	return nil
}

// catchUpRunEvents is how many events a catch-up decodes per hand-off.
const catchUpRunEvents = 512

// catchUpRun is what one catch-up carries from event to event.
type catchUpRun struct {
	known   eventstore.Position
	applied int
	// A command's events are consecutive: its id is hashed once.
	lastID  string
	lastKey eventstore.Key
}

// fold applies one event read from the log to the state.
func (w *Writer) fold(run *catchUpRun, e *eventstore.Event, d replay.Decoded) error {
	if d.Err != nil {
		return fmt.Errorf("decode position %d: %w", e.Position, d.Err)
	}
	w.ledger.Evolve(d.Value)
	w.head = e.Position
	w.visible.Store(e.Position)
	if id := e.Meta.CommandID; id != "" && e.Position > run.known {
		if id != run.lastID {
			run.lastID, run.lastKey = id, eventstore.KeyOf(id)
		}
		if err := w.rememberEvent(run.lastKey, *e); err != nil {
			return err
		}
	}
	if run.applied++; w.marked && run.applied%catchUpMarkEvents == 0 {
		w.ledger.Mark()
	}
	return nil
}
