package kurrentdb

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/hrss-ledger/ledger/eventstore"
)

// metadataSchema versions the JSON below; a reader refuses any other value
// rather than guess at fields it does not know.
const metadataSchema = 1

// metadata is the envelope of one ledger event, stored as the KurrentDB
// event's user metadata. The KurrentDB stream and revision say where the event
// sits in the log; the aggregate stream and version live here, because every
// event of the ledger is written to the one log stream.
type metadata struct {
	Schema        int       `json:"schema"`
	Position      uint64    `json:"position"`
	Stream        string    `json:"stream"`
	Version       uint64    `json:"version"`
	BusinessDate  string    `json:"businessDate"`
	Recorded      time.Time `json:"recorded"`
	Actor         string    `json:"actor"`
	CommandID     string    `json:"commandId"`
	Fingerprint   string    `json:"fingerprint"`
	CorrelationID string    `json:"correlationId"`
	Hash          string    `json:"hash"`
}

// toEventData turns a fully stamped event (position, version, recorded time
// and hash assigned) into what the client appends. The event id is passed
// through: KurrentDB uses it to make a retried append idempotent.
func toEventData(e eventstore.Event) (esdb.EventData, error) {
	meta, err := json.Marshal(metadata{
		Schema:        metadataSchema,
		Position:      e.Position,
		Stream:        e.Stream,
		Version:       e.Version,
		BusinessDate:  e.Meta.BusinessDate,
		Recorded:      e.Meta.Recorded,
		Actor:         e.Meta.Actor,
		CommandID:     e.Meta.CommandID,
		Fingerprint:   e.Meta.Fingerprint,
		CorrelationID: e.Meta.CorrelationID,
		Hash:          hex.EncodeToString(e.Hash[:]),
	})
	if err != nil {
		return esdb.EventData{}, fmt.Errorf("kurrentdb: encode metadata of %s: %w", e.ID, err)
	}
	contentType := esdb.ContentTypeBinary
	if json.Valid(e.Data) {
		// JSON bodies stay readable in the KurrentDB UI and to its projections.
		contentType = esdb.ContentTypeJson
	}
	return esdb.EventData{
		EventID:     e.ID,
		EventType:   e.Type,
		ContentType: contentType,
		Data:        e.Data,
		Metadata:    meta,
	}, nil
}

// fromRecorded rebuilds a ledger event from a KurrentDB event of the log
// stream. The position stored in the metadata must agree with the event's
// revision: a disagreement means events were copied or moved by hand.
func fromRecorded(r *esdb.RecordedEvent) (eventstore.Event, error) {
	var meta metadata
	if err := json.Unmarshal(r.UserMetadata, &meta); err != nil {
		return eventstore.Event{}, fmt.Errorf("kurrentdb: %w: metadata of %s@%d: %w", eventstore.ErrCorrupt, r.StreamID, r.EventNumber, err)
	}
	if meta.Schema != metadataSchema {
		return eventstore.Event{}, fmt.Errorf("kurrentdb: %w: %s@%d: metadata schema %d, want %d", eventstore.ErrCorrupt, r.StreamID, r.EventNumber, meta.Schema, metadataSchema)
	}
	if want := positionOf(r.EventNumber); meta.Position != want {
		return eventstore.Event{}, fmt.Errorf("kurrentdb: %w: %s@%d: metadata says position %d, revision says %d", eventstore.ErrCorrupt, r.StreamID, r.EventNumber, meta.Position, want)
	}
	hash, err := decodeHash(meta.Hash)
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("kurrentdb: %w: %s@%d: %w", eventstore.ErrCorrupt, r.StreamID, r.EventNumber, err)
	}
	return eventstore.Event{
		Position: meta.Position,
		ID:       r.EventID,
		Stream:   meta.Stream,
		Version:  meta.Version,
		Type:     r.EventType,
		Data:     r.Data,
		Meta: eventstore.Meta{
			BusinessDate:  meta.BusinessDate,
			Recorded:      meta.Recorded.UTC(),
			Actor:         meta.Actor,
			CommandID:     meta.CommandID,
			Fingerprint:   meta.Fingerprint,
			CorrelationID: meta.CorrelationID,
		},
		Hash: hash,
	}, nil
}

func decodeHash(s string) ([32]byte, error) {
	var hash [32]byte
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != len(hash) {
		return hash, fmt.Errorf("hash %q is not 32 hex-encoded bytes", s)
	}
	copy(hash[:], raw)
	return hash, nil
}

// Position encoding. The log stream's revisions are 0-based and dense (the
// stream is never truncated: Open refuses one that can be), so the ledger's
// 1-based position is the revision plus one.

// positionOf is the ledger position of the event at a log revision.
func positionOf(revision uint64) eventstore.Position { return revision + 1 }

// revisionOf is the log revision of the event at a ledger position (> 0).
func revisionOf(p eventstore.Position) uint64 {
	assert(p > 0, "position 0 has no revision")
	return p - 1
}

// expectedRevision is what the log stream must be at for an append whose
// decision was made at head: no stream for an empty log, else the revision of
// the head event. This single condition is the global fence.
func expectedRevision(head eventstore.Position) esdb.ExpectedRevision {
	if head == 0 {
		return esdb.NoStream{}
	}
	return esdb.Revision(revisionOf(head))
}

// readFrom is where a forward read starts to deliver the events after
// position `after`: the revision of position after+1.
func readFrom(after eventstore.Position) esdb.StreamPosition {
	return esdb.Revision(revisionOf(after + 1))
}

// assert panics on a programmer error; business failures are errors.
func assert(cond bool, msg string) {
	if !cond {
		panic("kurrentdb: assertion failed: " + msg)
	}
}
