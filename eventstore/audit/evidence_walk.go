package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
)

// evidenceEvents reads, in one pass over the log, each distinct event the
// entries name, with the hash before it and its proof in the tree of size.
// The pass also hashes the blocks around those events and hands them to the
// proofs, so that an export of many events reads the log once, not once or
// twice more per proof.
func evidenceEvents(ctx context.Context, entries []domain.HistoryEntry, log Log, tree *Tree, size uint64) ([]EvidenceEvent, error) {
	positions := make([]eventstore.Position, 0, len(entries))
	for _, entry := range entries {
		positions = append(positions, entry.Position)
	}
	slices.Sort(positions)
	positions = slices.Compact(positions)
	if len(positions) == 0 {
		return []EvidenceEvent{}, nil
	}
	w := &evidenceWalk{ctx: ctx, positions: positions, view: tree.snapshot(), size: size,
		out: make([]EvidenceEvent, 0, len(positions)), block: (positions[0] - 1) / blockLeaves}
	if positions[0] == 0 || positions[len(positions)-1] > size || size > w.view.size {
		return nil, fmt.Errorf("audit: evidence of positions %d..%d in size %d of a tree of size %d: %w",
			positions[0], positions[len(positions)-1], size, w.view.size, ErrTreeSize)
	}
	// Start one event before the first block: its hash is the prev_hash of
	// an event at the block's start.
	after := w.block * blockLeaves
	if after > 0 {
		after--
	}
	err := log.Read(ctx, after, w.event)
	if err != nil && !errors.Is(err, errFound) {
		return nil, fmt.Errorf("audit: evidence events: %w", err)
	}
	if len(w.out) != len(positions) {
		return nil, fmt.Errorf("audit: evidence events: found %d of %d positions: %w", len(w.out), len(positions), ErrTreeSize)
	}
	if w.proven != len(w.out) {
		return nil, fmt.Errorf("audit: evidence events: the log ends inside block %d: %w", w.block, ErrLogChanged)
	}
	return w.out, nil
}

// evidenceWalk is one pass over the log for an evidence package: it keeps
// the events asked for and hashes the block each of them is in, one block
// at a time, proving the block's events once it is complete.
type evidenceWalk struct {
	ctx       context.Context // the export's, for the blocks a proof still reads
	positions []eventstore.Position
	next      int // positions[next] is the next event to keep
	out       []EvidenceEvent
	proven    int // out[:proven] carry their proofs
	prev      [32]byte
	view      *view
	size      uint64
	block     uint64 // the block being hashed
	leaves    []Hash // its leaves so far
}

func (w *evidenceWalk) event(e eventstore.Event) error {
	if w.next < len(w.positions) && e.Position == w.positions[w.next] {
		w.out = append(w.out, EvidenceEvent{Event: Record(e), PrevHash: w.prev})
		w.next++
	}
	w.prev = e.Hash
	if (e.Position-1)/blockLeaves != w.block {
		return nil
	}
	w.leaves = append(w.leaves, LeafHash(e))
	if uint64(len(w.leaves)) < w.view.blockEnd(w.block)-w.block*blockLeaves {
		return nil
	}
	if err := w.prove(); err != nil {
		return err
	}
	if w.next == len(w.positions) {
		return errFound
	}
	w.block, w.leaves = (w.positions[w.next]-1)/blockLeaves, w.leaves[:0:0]
	return nil
}

// prove hands the complete block to the view and proves the events kept
// since the last block.
func (w *evidenceWalk) prove() error {
	if err := w.view.offer(w.block, w.leaves); err != nil {
		return err
	}
	for ; w.proven < len(w.out); w.proven++ {
		p, err := w.view.inclusionProof(w.ctx, w.out[w.proven].Event.Position, w.size)
		if err != nil {
			return err
		}
		w.out[w.proven].Proof = p
	}
	return nil
}
