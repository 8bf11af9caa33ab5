package writer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
)

// Periodic snapshots. The sequencer's state cannot be written while the
// sequencer runs (it changes under the encoder), and stopping the sequencer
// for the second or two a province's state takes would stall every command.
// So a snapshot is rebuilt beside it, from what is durable: the newest
// snapshot file, read into a second ledger, and the log from its position
// to the head the sequencer had reached; that ledger is written and
// dropped. It costs the time and, while it runs, the memory of a start
// from a snapshot, on another goroutine. A process that is killed then
// replays at its next start at most about snapshotEvery events.

// refreshIfDue starts a rebuild when enough was appended since the newest
// snapshot and none is running. Called by the sequencer after an append.
func (w *Writer) refreshIfDue() {
	if w.cfg.snapshotDir == "" || w.lookup == nil || w.cfg.snapshotEvery == 0 {
		return
	}
	// A rebuild that failed is tried again only after as many events more.
	newest := max(w.snapshotAt.Load(), w.refreshTried)
	if w.head-newest < w.cfg.snapshotEvery || !w.refreshing.CompareAndSwap(false, true) {
		return
	}
	w.refreshTried = w.head
	// Close waits for the sequencer to stop before it waits for this, so
	// no Add can follow its Wait.
	w.background.Add(1)
	go w.refresh(w.head)
}

func (w *Writer) refresh(target eventstore.Position) {
	defer w.background.Done()
	defer w.refreshing.Store(false)
	start := time.Now()
	if err := w.rebuildSnapshot(w.refreshCtx, target); err != nil {
		if w.refreshCtx.Err() == nil {
			w.cfg.logger.Warn("writer: periodic snapshot not written", "position", target, "err", err)
		}
		return
	}
	w.cfg.logger.Info("writer: periodic snapshot written", "position", target, "took", time.Since(start).Round(time.Millisecond))
}

// rebuildSnapshot writes the snapshot at target from the newest one and
// the log, unless one at target or later was written meanwhile.
func (w *Writer) rebuildSnapshot(ctx context.Context, target eventstore.Position) error {
	path := filepath.Join(w.cfg.snapshotDir, snapshotFile)
	ledger, from, err := loadSnapshot(ctx, path, w.store, w.lookup)
	switch {
	case errors.Is(err, os.ErrNotExist):
		ledger, from = domain.NewLedger(), 0 // the log grew long since a start without one
	case err != nil:
		return fmt.Errorf("no snapshot to start from: %w", err)
	}
	if from >= target {
		return nil
	}
	if err := replayInto(ctx, w.store, ledger, from, target); err != nil {
		return err
	}
	hash, err := hashAt(ctx, w.store, target)
	if err != nil {
		return err
	}
	w.snapshotMu.Lock()
	defer w.snapshotMu.Unlock()
	if w.snapshotAt.Load() >= target {
		return nil
	}
	if err := writeSnapshot(w.cfg.snapshotDir, snapshotHeader{version: snapshotVersion, position: target, hash: hash}, ledger); err != nil {
		return err
	}
	w.snapshotAt.Store(target)
	return nil
}

// replayInto applies the log's events after `after`, up to and including
// until, to ledger.
func replayInto(ctx context.Context, store eventstore.Store, ledger *domain.Ledger, after, until eventstore.Position) error {
	syms := domain.NewSymbols()
	reached := errors.New("reached")
	err := eventstore.ReadBatches(ctx, store, after, func(events []eventstore.Event) error {
		for i := range events {
			e := &events[i]
			ev, err := domain.DecodeWith(e.Type, e.Data, syms)
			if err != nil {
				return fmt.Errorf("decode position %d: %w", e.Position, err)
			}
			ledger.Evolve(ev)
			if e.Position >= until {
				return reached
			}
		}
		return nil
	})
	switch {
	case errors.Is(err, reached):
		return nil
	case err != nil:
		return fmt.Errorf("replay %d..%d: %w", after+1, until, err)
	}
	return fmt.Errorf("replay %d..%d: the log ends before", after+1, until)
}
