package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
)

// faultUndecodable: the stream holds a message at this place of the log
// that is not a batch of events (published around the ledger, or altered
// past decoding). The audit package names the faults of decoded events;
// this one exists only where messages are read raw.
const faultUndecodable audit.Fault = "undecodable"

// verifiable is the log as `ledger verify` reads it.
type verifiable interface {
	Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error
	Head(ctx context.Context) (eventstore.Position, error)
	Close() error
}

// openVerifiable opens the log for verification. A JetStream log, embedded
// or external, is read raw: what the stream stores, message by message,
// neither through the store's own verification (which refuses a broken log
// without saying where it breaks) nor through its local cache (a copy that
// could hide an edit of the stream). KurrentDB is read through its store.
func openVerifiable(ctx context.Context, sf storeFlags) (verifiable, error) {
	switch {
	case sf.kurrentURL != "":
		return sf.open(ctx)
	case sf.natsURL != "":
		raw, err := jetstream.ConnectRaw(sf.natsURL, jetstream.WithNATSOptions(nats.Name("ledger verify")))
		if err != nil {
			return nil, err
		}
		return rawLog{raw}, nil
	}
	if _, err := os.Stat(sf.dataDir); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	raw, err := jetstream.OpenRaw(filepath.Join(sf.dataDir, "nats"))
	if err != nil {
		return nil, err
	}
	return rawLog{raw}, nil
}

// rawLog reads the stream's messages unverified and hands their events on
// in stream order, as the messages claim them: the checker behind it judges
// positions, versions and hashes. A message that does not decode, or stream
// sequences that hold nothing, break the log at the position after the last
// event handed on.
type rawLog struct{ raw *jetstream.Raw }

func (l rawLog) Head(ctx context.Context) (eventstore.Position, error) { return l.raw.Head(ctx), nil }

func (l rawLog) Close() error { return l.raw.Close() }

// Read skips events at or before `after` by the positions they claim; only
// reads of a log already verified ask for an `after` other than 0.
func (l rawLog) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	last := after // the last position handed on and accepted
	return l.raw.Scan(ctx, func(seq uint64, events []eventstore.Event, err error) error {
		if err != nil {
			return messageBreak(last+1, seq, err)
		}
		for _, e := range events {
			if e.Position <= after {
				continue
			}
			if err := fn(e); err != nil {
				return err
			}
			last = e.Position
		}
		return nil
	})
}

// messageBreak names the fault of a stream message that yields no events.
func messageBreak(at eventstore.Position, seq uint64, err error) error {
	switch {
	case errors.Is(err, jetstream.ErrMissing):
		return &audit.BreakError{Position: at, Fault: audit.FaultPosition,
			Detail: fmt.Sprintf("the stream holds no message where the log goes on (%v)", err)}
	case errors.Is(err, jetstream.ErrMalformed):
		return &audit.BreakError{Position: at, Fault: faultUndecodable,
			Detail: fmt.Sprintf("stream message %d is not a batch of events: %v", seq, err)}
	}
	return err
}
