package writer

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
)

// ErrFingerprintMismatch: a command id was reused for a different command.
var ErrFingerprintMismatch = eventstore.ErrIdempotencyMismatch

// decision is one command of a batch after Decide.
type decision struct {
	p         *pending
	commit    *eventstore.Commit // nil when refused or duplicate
	outcome   Outcome
	duplicate *applied
	err       error
}

// process decides a batch against the tentative state and appends it; on a
// conflict with another writer it catches up and decides the batch again.
func (w *Writer) process(batch []*pending) {
	for attempt := 0; ; attempt++ {
		decisions := w.decideAll(batch)
		err := w.appendAll(decisions)
		if err == nil {
			w.answer(decisions)
			return
		}
		w.ledger.Rollback()
		if errors.Is(err, eventstore.ErrConflict) && attempt < maxConflictRetries {
			if cerr := w.catchUp(context.Background()); cerr == nil {
				continue
			} else {
				err = cerr
			}
		}
		for i := range decisions {
			if decisions[i].commit != nil {
				decisions[i].err = err
				decisions[i].commit = nil
			}
		}
		w.answer(decisions)
		return
	}
}

// decideAll decides each command in order, each seeing the effects of the
// ones before it in the same batch.
func (w *Writer) decideAll(batch []*pending) []decision {
	w.ledger.Mark()
	inBatch := make(map[string]string, len(batch))
	decisions := make([]decision, len(batch))
	for i, p := range batch {
		decisions[i] = w.decide(p, inBatch)
	}
	return decisions
}

func (w *Writer) decide(p *pending, inBatch map[string]string) decision {
	req := p.req
	if p.probe {
		_, seen := w.commands[req.CommandID]
		return decision{p: p, outcome: Outcome{Duplicate: seen}}
	}
	if prior, ok := w.commands[req.CommandID]; ok && req.CommandID != "" {
		if prior.fingerprint != req.Fingerprint {
			return decision{p: p, err: ErrFingerprintMismatch}
		}
		return decision{p: p, duplicate: &prior}
	}
	if fp, ok := inBatch[req.CommandID]; ok && req.CommandID != "" {
		// The same command twice in one batch: the second waits for the
		// next batch, where it is answered as a duplicate of the first.
		if fp != req.Fingerprint {
			return decision{p: p, err: ErrFingerprintMismatch}
		}
		return decision{p: p, err: errRetryNextBatch}
	}
	events, err := w.ledger.Decide(req.Command)
	if err != nil {
		return decision{p: p, err: err}
	}
	commit, err := envelope(req, events)
	if err != nil {
		return decision{p: p, err: err}
	}
	for _, e := range events {
		w.ledger.Evolve(e)
	}
	inBatch[req.CommandID] = req.Fingerprint
	return decision{p: p, commit: commit, outcome: Outcome{Events: events}}
}

var errRetryNextBatch = errors.New("writer: command repeated within a batch")

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
	i := 0
	for k := range decisions {
		d := &decisions[k]
		if d.commit == nil {
			continue
		}
		w.settle(d.commit, results[i])
		d.outcome.First, d.outcome.Last = results[i].First, results[i].Last
		i++
	}
	w.ledger.Mark()
	return nil
}

// settle records where a commit landed in the idempotency memory.
func (w *Writer) settle(c *eventstore.Commit, r eventstore.Result) {
	w.head = r.Last
	w.visible.Store(r.Last)
	if c.CommandID != "" {
		w.commands[c.CommandID] = applied{fingerprint: c.Fingerprint, first: r.First, last: r.Last}
	}
}

// answer replies to every command of the batch.
func (w *Writer) answer(decisions []decision) {
	for _, d := range decisions {
		switch {
		case errors.Is(d.err, errRetryNextBatch):
			w.requeue(d.p)
		case d.err != nil:
			d.p.reply <- reply{err: d.err}
		case d.p.probe:
			d.p.reply <- reply{outcome: d.outcome}
		case d.duplicate != nil:
			events, err := w.eventsBetween(d.duplicate.first, d.duplicate.last)
			d.p.reply <- reply{outcome: Outcome{Events: events, First: d.duplicate.first, Last: d.duplicate.last, Duplicate: true}, err: err}
		default:
			d.p.reply <- reply{outcome: d.outcome}
		}
	}
}

// requeue hands a command back to the sequencer without blocking it.
func (w *Writer) requeue(p *pending) {
	go func() {
		select {
		case w.queue <- p:
		case <-w.stop:
			p.reply <- reply{err: ErrStopped}
		}
	}()
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

// catchUp applies every event after the current head to the state.
func (w *Writer) catchUp(ctx context.Context) error {
	return w.store.Read(ctx, w.head, func(e eventstore.Event) error {
		ev, err := domain.Decode(e.Type, e.Data)
		if err != nil {
			return fmt.Errorf("decode position %d: %w", e.Position, err)
		}
		w.ledger.Evolve(ev)
		w.head = e.Position
		w.visible.Store(e.Position)
		if id := e.Meta.CommandID; id != "" {
			prior, seen := w.commands[id]
			if !seen {
				prior = applied{fingerprint: e.Meta.Fingerprint, first: e.Position}
			}
			prior.last = e.Position
			w.commands[id] = prior
		}
		w.ledger.Mark()
		return nil
	})
}
