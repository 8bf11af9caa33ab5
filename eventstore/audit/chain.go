package audit

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"

	"github.com/hrss-ledger/ledger/eventstore"
)

// Log is the part of eventstore.Store the audit reads: the whole log in order.
type Log interface {
	Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error
}

// Fault says how the log is broken at the first bad position.
type Fault string

// The faults VerifyChain and VerifyLog tell apart.
const (
	// FaultHash: the event's content or its hash was altered, or an event
	// before it was replaced so that it no longer chains.
	FaultHash Fault = "hash"
	// FaultPosition: the event at this place of the log does not carry the
	// next position; an event was removed, inserted or two were swapped.
	FaultPosition Fault = "position"
	// FaultVersion: the event's stream version does not follow the stream's
	// previous event.
	FaultVersion Fault = "version"
	// FaultCheckpoint: a signed checkpoint's root differs from the root the
	// log has at the checkpoint's size, its signature does not verify, or it
	// covers more events than the log holds.
	FaultCheckpoint Fault = "checkpoint"
)

// ErrBroken is what every BreakError matches with errors.Is.
var ErrBroken = errors.New("audit: log is not intact")

// BreakError names the first bad position of a log and how it is bad.
type BreakError struct {
	Position eventstore.Position
	Fault    Fault
	Detail   string
}

// Error implements error.
func (e *BreakError) Error() string {
	return fmt.Sprintf("audit: log broken at position %d (%s): %s", e.Position, e.Fault, e.Detail)
}

// Is makes errors.Is(err, ErrBroken) true.
func (e *BreakError) Is(target error) bool { return target == ErrBroken }

// ChainReport is the outcome of a verification, in the form GET
// /v1/audit/verify returns it.
type ChainReport struct {
	OK            bool                `json:"ok"`
	EventsChecked uint64              `json:"events_checked"`
	Head          eventstore.Position `json:"head"`      // last good position
	HeadHash      Hash                `json:"head_hash"` // its chain hash
	// FirstBadPosition, Fault and Detail are set when OK is false.
	FirstBadPosition eventstore.Position `json:"first_bad_position,omitempty"`
	Fault            Fault               `json:"fault,omitempty"`
	Detail           string              `json:"detail,omitempty"`
	// Checkpoints and Root are set by VerifyLog: the checkpoints found in the
	// log and verified, and the Merkle root of the good prefix.
	Checkpoints int  `json:"checkpoints_checked,omitempty"`
	Root        Hash `json:"root_hash,omitzero"`
}

// VerifyChain reads the whole log and recomputes every event's chain hash,
// checking also that positions are dense from 1 and that each stream's
// versions follow one another. On a break it returns the report and a
// *BreakError naming the first bad position; any other error is a failure
// to read. progress, if not nil, is called with each position checked.
func VerifyChain(ctx context.Context, log Log, progress func(eventstore.Position)) (ChainReport, error) {
	c := newChecker(progress)
	err := log.Read(ctx, 0, c.check)
	return c.finish(err)
}

// checker walks the log once; the Merkle tree and checkpoint checks of
// VerifyLog ride on the same walk.
type checker struct {
	head     eventstore.Position
	hash     [32]byte
	versions map[string]uint64
	progress func(eventstore.Position)
	sha      hash.Hash // reused: one allocation per walk, not per event
	sum      []byte    // sha's output buffer, reused likewise
	// extra runs after an event passed the chain checks (VerifyLog's tree).
	extra func(e eventstore.Event, canonical []byte) error
}

func newChecker(progress func(eventstore.Position)) *checker {
	return &checker{versions: make(map[string]uint64), progress: progress, sha: sha256.New()}
}

func (c *checker) check(e eventstore.Event) error {
	next := c.head + 1
	if e.Position != next {
		return &BreakError{Position: next, Fault: FaultPosition,
			Detail: fmt.Sprintf("expected position %d, found an event with position %d", next, e.Position)}
	}
	canonical := eventstore.Canonical(e)
	if h := c.chain(canonical); h != e.Hash {
		return &BreakError{Position: next, Fault: FaultHash,
			Detail: fmt.Sprintf("stored hash %x, recomputed %x", e.Hash, h)}
	}
	if v := c.versions[e.Stream]; e.Version != v+1 {
		return &BreakError{Position: next, Fault: FaultVersion,
			Detail: fmt.Sprintf("stream %q at version %d, event has version %d", e.Stream, v, e.Version)}
	}
	if c.extra != nil {
		if err := c.extra(e, canonical); err != nil {
			return err
		}
	}
	c.versions[e.Stream] = e.Version
	c.head, c.hash = next, e.Hash
	if c.progress != nil {
		c.progress(next)
	}
	return nil
}

// chain is eventstore.ChainHash from the last good event, over an encoding
// already computed.
func (c *checker) chain(canonical []byte) [32]byte {
	c.sha.Reset()
	c.sha.Write(c.hash[:])
	c.sha.Write(canonical)
	c.sum = c.sha.Sum(c.sum[:0])
	return [32]byte(c.sum)
}

// chainHash is eventstore.ChainHash over an encoding already computed.
func chainHash(prev [32]byte, canonical []byte) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(canonical)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func (c *checker) finish(err error) (ChainReport, error) {
	r := ChainReport{OK: err == nil, EventsChecked: c.head, Head: c.head, HeadHash: c.hash}
	var brk *BreakError
	switch {
	case errors.As(err, &brk):
		r.FirstBadPosition, r.Fault, r.Detail = brk.Position, brk.Fault, brk.Detail
		return r, err
	case err != nil:
		return r, fmt.Errorf("audit: read log after position %d: %w", c.head, err)
	}
	return r, nil
}
