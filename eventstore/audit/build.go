package audit

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"

	"github.com/hrss-ledger/ledger/eventstore"
)

// buildBatchEvents is how many events a hashing worker takes at a time: a
// whole number of blocks, enough that handing batches between goroutines
// costs little beside hashing them, few enough that the batches in flight
// hold a few MB of events.
const buildBatchEvents = 32 * blockLeaves

// Build reads the whole log into a new tree over it. The leaf hashes (the
// canonical encoding and SHA-256 of every event) are computed on every core.
func Build(ctx context.Context, log Log) (*Tree, error) {
	t := NewTree(log)
	if err := t.build(ctx, log); err != nil {
		return nil, fmt.Errorf("audit: build tree: %w", err)
	}
	return t, nil
}

// build hashes runs of buildBatchEvents events on every core and pushes
// them in log order. Every run starts on a block boundary (runs are full
// but the last), so a worker folds each complete block into its root.
func (t *Tree) build(ctx context.Context, log Log) error {
	return eventstore.ReadInParallel(ctx, log, 0, eventstore.Pipeline[eventstore.Event, Hash]{
		Size: buildBatchEvents,
		Keep: func(e *eventstore.Event) eventstore.Event { return *e },
		NewWorker: func() func([]eventstore.Event, []Hash) {
			// One hash and one encoding buffer per worker: a leaf's hash
			// allocates nothing, so a build leaves no garbage behind.
			sha := sha256.New()
			var canonical []byte
			return func(events []eventstore.Event, leaves []Hash) {
				canonical = hashRun(sha, canonical, events, leaves)
			}
		},
		Consume: t.pushRun,
	})
}

// hashRun writes the run's leaf hashes into leaves, then folds each
// complete block in place into its root (leaves[b] for block b), encoding
// each event into buf; it returns buf for the next run.
func hashRun(sha hash.Hash, buf []byte, events []eventstore.Event, leaves []Hash) []byte {
	for i := range events {
		buf = eventstore.AppendCanonical(buf[:0], events[i])
		sha.Reset()
		sha.Write(leafPrefix)
		sha.Write(buf)
		sha.Sum(leaves[i][:0])
	}
	for b := range len(events) / blockLeaves {
		leaves[b] = subtreeRoot(leaves[b*blockLeaves : (b+1)*blockLeaves])
	}
	return buf
}

// pushRun appends a hashed run to the tree: the roots of its complete
// blocks, then the leaves of its last, partial block. It refuses a gap or a
// repeat in its positions as Append does.
func (t *Tree) pushRun(events []eventstore.Event, leaves []Hash) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, e := range events {
		if want := t.state.size + uint64(i) + 1; e.Position != want {
			return fmt.Errorf("audit: tree of size %d cannot take position %d: %w", want-1, e.Position, ErrTreeSize)
		}
	}
	roots := len(events) / blockLeaves
	for _, root := range leaves[:roots] {
		t.state.push(storedLevelStride, root)
	}
	for _, leaf := range leaves[roots*blockLeaves:] {
		t.state.push(0, leaf)
	}
	return nil
}
