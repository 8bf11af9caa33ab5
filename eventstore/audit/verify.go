package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"

	"github.com/hrss-ledger/ledger/eventstore"
)

// CheckpointBody is the JSON data of an audit.checkpoint.v1 event: the
// checkpoint's fields, flat, and the period it closes.
type CheckpointBody struct {
	Checkpoint
	Period string `json:"period"` // "day", "month", "quarter" or "year"
	Date   string `json:"date"`   // YYYY-MM-DD: the last business date the period covers
}

// CheckpointEvent returns the event that records a checkpoint in the log at
// a day or period close. The caller appends it through the writer (the
// domain's RecordCheckpoint command carries the same fields).
func CheckpointEvent(cp Checkpoint, period, date string) (eventstore.Event, error) {
	data, err := json.Marshal(CheckpointBody{Checkpoint: cp, Period: period, Date: date})
	if err != nil {
		return eventstore.Event{}, fmt.Errorf("audit: encode checkpoint: %w", err)
	}
	return eventstore.Event{
		Stream: CheckpointStream, Type: CheckpointEventType, Data: data,
		Meta: eventstore.Meta{BusinessDate: date},
	}, nil
}

// VerifyOptions adds the Merkle checks to a chain verification.
type VerifyOptions struct {
	// Progress, if not nil, is called with each position checked.
	Progress func(eventstore.Position)
	// PublicKey checks the signature of every checkpoint event in the log.
	// Without it, checkpoint events are checked only against the tree.
	PublicKey ed25519.PublicKey
	// Trusted are checkpoints the auditor kept outside the log (exported
	// earlier): the log must hold each, with the same root. They catch a log
	// rewritten wholesale, hashes and checkpoint events included, and a log
	// cut short at its end.
	Trusted []Checkpoint
}

// VerifyLog is VerifyChain plus the Merkle tree: it builds the tree over the
// good prefix and checks that every checkpoint recorded in the log and every
// trusted checkpoint has the root the log has at its size. It returns the
// tree, usable for proofs while log stays open (they read blocks of it
// back), even when the log is broken.
func VerifyLog(ctx context.Context, log Log, opts VerifyOptions) (ChainReport, *Tree, error) {
	if opts.PublicKey != nil {
		for _, cp := range opts.Trusted {
			if err := VerifyCheckpoint(cp, opts.PublicKey); err != nil {
				return ChainReport{}, nil, fmt.Errorf("audit: trusted checkpoint: %w", err)
			}
		}
	}
	recent := &recentLeaves{older: logLeaves{log}}
	v := &logVerifier{ctx: ctx, tree: &Tree{source: recent}, recent: recent, opts: opts, checker: newChecker(opts.Progress)}
	v.checker.extra = v.extend
	err := log.Read(ctx, 0, v.checker.check)
	if err == nil {
		err = v.checkUnreached()
	}
	report, err := v.checker.finish(err)
	report.Checkpoints = v.checkpoints
	_, report.Root = v.tree.head()
	return report, v.tree, err
}

// logVerifier builds the tree during the walk. The tree's recent leaves
// serve the checkpoints' roots, so that the walk does not read the log again
// while it reads it; the returned tree reads older blocks back from the log.
type logVerifier struct {
	ctx         context.Context // the walk's, for the rare checkpoint root that reads the log
	tree        *Tree
	recent      *recentLeaves
	opts        VerifyOptions
	checker     *checker
	checkpoints int
}

// extend checks a checkpoint event against the tree before the event
// itself joins it, then checks the trusted checkpoints of the new size.
func (v *logVerifier) extend(e eventstore.Event, canonical []byte) error {
	if e.Type == CheckpointEventType {
		if err := v.checkRecorded(e); err != nil {
			return err
		}
	}
	leaf := leafHashOf(canonical)
	v.recent.add(leaf)
	v.tree.mu.Lock()
	v.tree.state.push(0, leaf)
	v.tree.mu.Unlock()
	for _, cp := range v.opts.Trusted {
		if cp.LogSize == e.Position {
			if err := v.checkRoot(cp, e.Position, "trusted checkpoint"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (v *logVerifier) checkRecorded(e eventstore.Event) error {
	var body CheckpointBody
	if err := json.Unmarshal(e.Data, &body); err != nil {
		return &BreakError{Position: e.Position, Fault: FaultCheckpoint, Detail: fmt.Sprintf("checkpoint event does not decode: %v", err)}
	}
	if body.LogSize >= e.Position {
		return &BreakError{Position: e.Position, Fault: FaultCheckpoint,
			Detail: fmt.Sprintf("checkpoint covers size %d, but is itself at position %d", body.LogSize, e.Position)}
	}
	if v.opts.PublicKey != nil {
		if err := VerifyCheckpoint(body.Checkpoint, v.opts.PublicKey); err != nil {
			return &BreakError{Position: e.Position, Fault: FaultCheckpoint, Detail: err.Error()}
		}
	}
	return v.checkRoot(body.Checkpoint, e.Position, "checkpoint recorded at this position")
}

// checkRoot compares a checkpoint's root with the tree's root at its size.
// The bad position named is where the mismatch shows: some event at or
// before the checkpoint's size differs from the one that was signed.
func (v *logVerifier) checkRoot(cp Checkpoint, at eventstore.Position, what string) error {
	root, err := v.tree.rootAt(v.ctx, cp.LogSize)
	if err != nil {
		return err
	}
	if root == cp.RootHash {
		v.checkpoints++
		return nil
	}
	return &BreakError{Position: at, Fault: FaultCheckpoint,
		Detail: fmt.Sprintf("%s signs root %s for the first %d events; the log has root %s: an event among them was changed",
			what, cp.RootHash, cp.LogSize, root)}
}

// checkUnreached fails a trusted checkpoint the walk never reached: the log
// lost events at its end.
func (v *logVerifier) checkUnreached() error {
	for _, cp := range v.opts.Trusted {
		if cp.LogSize > v.checker.head {
			return &BreakError{Position: v.checker.head + 1, Fault: FaultCheckpoint,
				Detail: fmt.Sprintf("a trusted checkpoint covers %d events, the log holds %d", cp.LogSize, v.checker.head)}
		}
		if cp.LogSize == 0 {
			if err := v.checkRoot(cp, 0, "trusted checkpoint"); err != nil {
				return err
			}
		}
	}
	return nil
}
