// Package eventstore defines the ledger's log: an ordered, durable, immutable
// sequence of events with a global position, and the contract every backend
// (embedded or external JetStream, KurrentDB, in-memory for fast tests) meets.
//
// The contract is checked by one conformance suite (RunConformance) that each
// backend runs against itself.
package eventstore

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Position is an event's place in the global order. The first event has
// position 1; position 0 means "before the first event".
type Position = uint64

// Event is one immutable entry of the log with its envelope.
type Event struct {
	Position Position  // global order, assigned by the store at append
	ID       uuid.UUID // UUIDv7, assigned by the writer
	Stream   string    // the aggregate, e.g. "loan-L2017-0001"
	Version  uint64    // 1-based version within Stream, assigned by the store
	Type     string    // stable wire name with schema version, e.g. "loan.issued.v1"
	Data     []byte    // the event body, JSON a person can read
	Meta     Meta
	// Hash chains this event to the one before it:
	// sha256(previous hash || Canonical(event)), assigned by the store.
	Hash [32]byte
}

// Meta is the part of the envelope that says who, when and why.
type Meta struct {
	BusinessDate  string    // YYYY-MM-DD: when it happened in the world
	Recorded      time.Time // when the store accepted it (UTC), assigned at append
	Actor         string    // who recorded it
	CommandID     string    // the command (idempotency key) that produced it
	Fingerprint   string    // the command's content hash (Commit.Fingerprint), so a reused CommandID can be told apart
	CorrelationID string    // ties the events of one business case together
}

// Commit is one command's events. A commit is appended atomically: all of its
// events become visible together, or none do.
type Commit struct {
	// CommandID makes the commit idempotent forever: a second commit with the
	// same CommandID appends nothing and returns the first one's Result.
	CommandID string
	// Fingerprint identifies the command's content (e.g. a hash of the request
	// body). A repeated CommandID with a different Fingerprint is refused with
	// ErrIdempotencyMismatch.
	Fingerprint string
	// Expect lists the versions that streams must be at for the commit to
	// apply; a mismatch refuses the commit with ErrConflict.
	Expect []Expectation
	Events []Event
}

// Expectation is an optimistic-concurrency condition on one stream.
type Expectation struct {
	Stream  string
	Version uint64 // the stream's current version; 0 means "must not exist yet"
}

// Result tells where a commit landed.
type Result struct {
	First, Last Position // positions of the commit's first and last event
	Duplicate   bool     // true when CommandID had been committed before
}

// Store is the ordered, durable, immutable log.
//
// Every acknowledged append is on stable storage (fsync) before the call
// returns. Events are never changed or removed.
type Store interface {
	// Append appends one commit. Concurrent calls are group-committed: many
	// commits share one durable write.
	Append(ctx context.Context, c Commit) (Result, error)
	// AppendBatch appends several commits as one atomic unit, only if the log
	// head is still expectedHead (ErrConflict otherwise, appending nothing).
	// It fences off a second writer: a single sequencer decides commands
	// against state at expectedHead and appends them together.
	AppendBatch(ctx context.Context, expectedHead Position, commits []Commit) ([]Result, error)
	// Head returns the position of the last event (0 for an empty log).
	Head(ctx context.Context) (Position, error)
	// Read calls fn for each event after position `after`, in order, up to
	// the head as of the call. An error from fn stops the read and is returned.
	Read(ctx context.Context, after Position, fn func(Event) error) error
	// Subscribe delivers every event after `after` in order, first those
	// already in the log, then new ones as they are appended, until ctx ends
	// or fn returns an error. Delivery has no gaps and no duplicates.
	Subscribe(ctx context.Context, after Position, fn func(Event) error) error
	// ReadStream returns one aggregate's events in version order.
	ReadStream(ctx context.Context, stream string) ([]Event, error)
	// Close releases the store; a closed store refuses further calls.
	Close() error
}

// Errors of the contract. Backends wrap them with context; callers test with errors.Is.
var (
	// ErrConflict: an expectation (stream version or log head) did not hold.
	ErrConflict = errors.New("eventstore: expectation failed")
	// ErrIdempotencyMismatch: a CommandID was reused for a different command.
	ErrIdempotencyMismatch = errors.New("eventstore: command id reused with a different fingerprint")
	// ErrInvalid: the commit itself is malformed (no events, empty stream or type, ...).
	ErrInvalid = errors.New("eventstore: invalid commit")
	// ErrUnsafeStream: the underlying stream's configuration could drop or
	// alter events (retention limits, deletes allowed); the ledger refuses to run on it.
	ErrUnsafeStream = errors.New("eventstore: stream configuration can lose events")
	// ErrUnavailable: the backend cannot durably accept writes now (disk full,
	// no quorum, read-only); nothing was appended. When the backend lost the
	// answer to a write and could not learn its fate in time, the error says
	// "outcome unknown": retrying with the same CommandID then answers with
	// the first Result (Duplicate) if it had landed.
	ErrUnavailable = errors.New("eventstore: unavailable")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("eventstore: closed")
)
