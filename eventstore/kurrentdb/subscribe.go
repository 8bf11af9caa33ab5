package kurrentdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/hrss-ledger/ledger/eventstore"
)

// Subscribe is a catch-up subscription to the log stream. When the
// subscription drops (connection lost, server restart, leader change), it
// resubscribes after the last event delivered, with backoff; the count of
// failed attempts starts again whenever an event gets through.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	last, failures := after, 0
	for {
		before := last
		err := s.subscribeOnce(ctx, &last, fn)
		if _, cerr := s.currentClient(); cerr != nil && ctx.Err() == nil {
			return cerr // closed while subscribed: the drop is the store's own doing
		}
		if !errors.Is(err, errTransient) {
			return err
		}
		if last > before {
			failures = 0
		}
		failures++
		if failures >= s.retry.attempts {
			return err
		}
		if serr := s.retry.sleep(ctx, s.retry.delay(failures-1)); serr != nil {
			return errors.Join(err, serr)
		}
		if rerr := s.renewClient(err); rerr != nil {
			return errors.Join(err, rerr)
		}
	}
}

// subscribeOnce runs one subscription until it drops, ctx ends or fn fails,
// advancing *last as events are delivered. Events at or before *last are
// skipped, so a resubscription never delivers twice whether the server's
// start revision is inclusive or not.
func (s *Store) subscribeOnce(ctx context.Context, last *eventstore.Position, fn func(eventstore.Event) error) error {
	client, err := s.currentClient()
	if err != nil {
		return err
	}
	sub, err := client.SubscribeToStream(ctx, s.stream, esdb.SubscribeToStreamOptions{From: subscribeFrom(*last)})
	if err != nil {
		return mapError(ctx, "subscribe", err)
	}
	defer sub.Close()
	for {
		msg := sub.Recv()
		switch {
		case msg.SubscriptionDropped != nil:
			return mapError(ctx, "subscribe", msg.SubscriptionDropped.Error)
		case msg.EventAppeared == nil:
			continue // caught up, fell behind, checkpoint: nothing to deliver
		}
		e, err := fromRecorded(msg.EventAppeared.Event)
		if err != nil {
			return err
		}
		if e.Position <= *last {
			continue
		}
		if e.Position != *last+1 {
			return fmt.Errorf("kurrentdb: subscribe: event at position %d after %d: %w", e.Position, *last, eventstore.ErrCorrupt)
		}
		if err := fn(e); err != nil {
			return err
		}
		*last = e.Position
	}
}

// subscribeFrom is where a subscription starts to deliver the events after
// position `after`: a subscription from revision r starts after r.
func subscribeFrom(after eventstore.Position) esdb.StreamPosition {
	if after == 0 {
		return esdb.Start{}
	}
	return esdb.Revision(revisionOf(after))
}
