package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/hrss-ledger/ledger/eventstore"
)

// leafSource hands the tree the leaf hashes it does not keep.
type leafSource interface {
	// leafHashes returns the leaf hashes of leaves first..end-1 (the events
	// at positions first+1..end).
	leafHashes(ctx context.Context, first, end uint64) ([]Hash, error)
}

// logLeaves reads leaves back from the log and hashes them again.
type logLeaves struct{ log Log }

// RangeReader is the optional fast path of a Log for the few events a proof
// reads back (eventstore.RangeReader).
type RangeReader = eventstore.RangeReader

// errBlockRead stops a log read at the end of a block.
var errBlockRead = errors.New("audit: block read")

// leafHashes copies the block's events and stops the read as soon as it
// has them, hashing them only then: a store that decodes ahead of its
// reader decodes as little past the block as it can.
func (l logLeaves) leafHashes(ctx context.Context, first, end uint64) ([]Hash, error) {
	events := make([]eventstore.Event, 0, end-first)
	collect := func(run []eventstore.Event) error {
		events = append(events, run[:min(uint64(len(run)), end-first-uint64(len(events)))]...)
		if uint64(len(events)) == end-first {
			return errBlockRead
		}
		return nil
	}
	var err error
	if rr, ok := l.log.(RangeReader); ok {
		err = rr.ReadRange(ctx, first, end, collect)
	} else {
		err = eventstore.ReadBatches(ctx, l.log, first, collect)
	}
	if err != nil && !errors.Is(err, errBlockRead) {
		return nil, fmt.Errorf("audit: read back events %d..%d: %w", first+1, end, err)
	}
	if uint64(len(events)) != end-first {
		return nil, fmt.Errorf("audit: read back events %d..%d: the log ends after %d of them: %w",
			first+1, end, len(events), ErrLogChanged)
	}
	out := make([]Hash, len(events))
	for i, e := range events {
		if want := first + uint64(i) + 1; e.Position != want {
			return nil, fmt.Errorf("audit: the log holds position %d where %d belongs: %w", e.Position, want, ErrLogChanged)
		}
		out[i] = LeafHash(e)
	}
	return out, nil
}

// recentLeavesKept is how many of the last leaves VerifyLog keeps: a
// checkpoint is recorded in the log some events after the size it signs
// (those appended while it was signed), and its root is checked at that
// size without reading the log again while the walk reads it. 4096 leaves
// are 128 KiB.
const recentLeavesKept = 4096

// recentLeaves keeps the last leaves a walk over the log appended, and
// reads older ones back from the log. One goroutine adds leaves while no
// other uses it; afterwards it is only read.
type recentLeaves struct {
	ring  [recentLeavesKept]Hash
	count uint64 // leaves added: the ring holds leaves count-recentLeavesKept..count-1
	older logLeaves
}

func (r *recentLeaves) add(h Hash) {
	r.ring[r.count%recentLeavesKept] = h
	r.count++
}

func (r *recentLeaves) leafHashes(ctx context.Context, first, end uint64) ([]Hash, error) {
	if end > r.count || first+recentLeavesKept < r.count {
		return r.older.leafHashes(ctx, first, end)
	}
	out := make([]Hash, 0, end-first)
	for i := first; i < end; i++ {
		out = append(out, r.ring[i%recentLeavesKept])
	}
	return out, nil
}
