// Package kurrentdb is the ledger's log on KurrentDB (formerly EventStoreDB),
// through github.com/EventStore/EventStore-Client-Go/v4 v4.2.0.
//
// # One log stream
//
// Client v4.2.0 has no multi-stream append (KurrentDB 25.1 added one to the
// server's newer protocol; this client does not speak it), and an append to
// one KurrentDB stream is the only atomic write it offers. So the whole log is
// one stream, "ledger-log" by default, and every append — one commit, a group
// of concurrent commits, or an AppendBatch of many commands touching any
// aggregates — is ONE AppendToStream call of all its events with the expected
// revision of the log's head. That single condition gives every invariant:
//
//   - Atomicity: the server writes an append's events together or not at all.
//   - Global order and dense positions: the stream's revisions are 0, 1, 2, ...
//     with no gaps; position = revision + 1. The stream is never truncated
//     (Open refuses one with $maxCount, $maxAge or $tb, or a tombstoned one).
//   - The fence: AppendBatch(expectedHead) appends with expected revision
//     expectedHead-1 (NoStream for 0), so a second writer that decided on a
//     stale head gets WrongExpectedVersion, mapped to ErrConflict.
//   - Per-aggregate expectations: the aggregate and its version are in the
//     event's metadata; the store checks Commit.Expect against its index,
//     which cannot be stale at the moment of writing, because the write is
//     fenced on the head the index was at.
//   - Durability: the server acknowledges an append once it is flushed to
//     disk (and, in a cluster, on a quorum).
//   - Hash chain: each event's hash is computed before the append from the
//     previous one and stored in its metadata; Open verifies the whole chain.
//
// The envelope (position, aggregate, version, business date, recorded time,
// actor, command id, fingerprint, correlation id, hash) is the event's JSON
// metadata; the event id, type and data are KurrentDB's own fields. Event ids
// make a retried append idempotent: a retry sends the same events with the
// same expected revision, which the server acknowledges without writing them
// twice.
//
// # Idempotency and the index
//
// A CommandID is answered with its first Result forever. The store keeps, in
// memory, the contract's State (head, hash, versions, CommandID -> Result)
// and each aggregate's positions, rebuilt at Open by reading the log once and
// extended on every append; after another writer appends, the fence fails and
// the store catches up before deciding again. ReadStream fetches an
// aggregate's events by those positions, one read per run of consecutive ones.
//
// # Trade-offs
//
//   - One stream serializes all writes of a ledger through one head. That is
//     what the ledger wants (one sequencer decides against one state), and
//     group commit keeps throughput up: many commits per append.
//   - KurrentDB's per-aggregate streams, $by_category and $by_event_type
//     projections do not apply: every event is in "ledger-log". Tools that
//     want per-aggregate streams can build them from the log (links), at the
//     cost of the log being the only truth.
//   - Open reads the whole log to rebuild the index; the index costs about
//     8 bytes per event plus one entry per aggregate and per command.
//   - Catch-up subscriptions read the log stream itself rather than $all
//     filtered to a prefix: with one stream they deliver the same events, and
//     the stream's revision is our position, so a subscription resumes from
//     a checkpoint without translating $all commit positions.
//   - An admin can still delete the stream or change its metadata; the store
//     cannot prevent it, only detect it at Open. Run the ledger as a user
//     without $d and $mw rights on the stream (see the README).
//
// # Failures
//
// Every client error is mapped once, in mapError, to the contract's errors.
// Connection loss, leader changes and server restarts are retried with capped
// exponential backoff (about 13 s in all); a subscription resubscribes after
// the last event it delivered.
package kurrentdb
