package audit

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/eventstore"
)

// EventRecord is an event with its whole envelope as a JSON file carries it,
// so that a verifier recomputes Canonical (and so the Merkle leaf and the
// chain hash) from the file alone.
//
// The data is kept as the exact bytes the log holds: as a JSON string in
// Data when they are UTF-8 (always, for the ledger's JSON events), otherwise
// base64 in DataBase64. Embedding it as a nested JSON value would let an
// encoder re-space or re-escape it and break the hash.
type EventRecord struct {
	Position      uint64    `json:"position"`
	ID            uuid.UUID `json:"event_id"`
	Stream        string    `json:"stream"`
	Version       uint64    `json:"version"`
	Type          string    `json:"type"`
	Data          string    `json:"data,omitempty"`
	DataBase64    []byte    `json:"data_base64,omitempty"`
	BusinessDate  string    `json:"business_date"`
	Recorded      time.Time `json:"recorded"`
	Actor         string    `json:"actor"`
	CommandID     string    `json:"command_id"`
	Fingerprint   string    `json:"fingerprint"`
	CorrelationID string    `json:"correlation_id"`
	Hash          Hash      `json:"hash"`
}

// Record returns an event's file form.
func Record(e eventstore.Event) EventRecord {
	r := EventRecord{
		Position: e.Position, ID: e.ID, Stream: e.Stream, Version: e.Version, Type: e.Type,
		BusinessDate: e.Meta.BusinessDate, Recorded: e.Meta.Recorded, Actor: e.Meta.Actor,
		CommandID: e.Meta.CommandID, Fingerprint: e.Meta.Fingerprint, CorrelationID: e.Meta.CorrelationID,
		Hash: e.Hash,
	}
	if utf8.Valid(e.Data) {
		r.Data = string(e.Data)
	} else {
		r.DataBase64 = e.Data
	}
	return r
}

// Event returns the event the record describes.
func (r EventRecord) Event() eventstore.Event {
	data := []byte(r.Data)
	if r.DataBase64 != nil {
		data = r.DataBase64
	}
	return eventstore.Event{
		Position: r.Position, ID: r.ID, Stream: r.Stream, Version: r.Version, Type: r.Type, Data: data,
		Meta: eventstore.Meta{
			BusinessDate: r.BusinessDate, Recorded: r.Recorded, Actor: r.Actor,
			CommandID: r.CommandID, Fingerprint: r.Fingerprint, CorrelationID: r.CorrelationID,
		},
		Hash: r.Hash,
	}
}

// Events is a log held in memory, e.g. loaded from an export or an evidence
// package, so that VerifyChain and Build run on it as on a store.
type Events []eventstore.Event

// Read calls fn for each event after position `after`, in slice order. It
// trusts no position: a slice with a gap or a swap is read as it is, which
// is what a verifier must see.
func (l Events) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	for _, e := range l {
		if e.Position <= after && after != 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// errFound stops a Read once the wanted events are in hand.
var errFound = errors.New("found")

// ReadRange returns the events at positions first..last (inclusive), reading
// from the log and stopping at last.
func ReadRange(ctx context.Context, log Log, first, last eventstore.Position) ([]eventstore.Event, error) {
	if first == 0 || last < first {
		return nil, fmt.Errorf("audit: read positions %d..%d: %w", first, last, ErrTreeSize)
	}
	out := make([]eventstore.Event, 0, last-first+1)
	err := log.Read(ctx, first-1, func(e eventstore.Event) error {
		out = append(out, e)
		if e.Position >= last {
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return nil, fmt.Errorf("audit: read positions %d..%d: %w", first, last, err)
	}
	if uint64(len(out)) != last-first+1 || out[0].Position != first {
		return nil, fmt.Errorf("audit: read positions %d..%d: got %d events: %w", first, last, len(out), ErrTreeSize)
	}
	return out, nil
}
