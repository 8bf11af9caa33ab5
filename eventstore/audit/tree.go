package audit

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/hrss-ledger/ledger/eventstore"
)

// storedLevelStride says which levels of the tree are kept in memory: every
// level that is a positive multiple of the stride. No leaf is kept: a node
// below the lowest stored level is recomputed from its block of blockLeaves
// leaves, read back from the log and checked against the block's stored
// root. With a stride of 6 the tree keeps about half a byte per event (5 MB
// at 10 million events, where the leaves and every 4th level took 375 MB),
// and a proof reads one or two blocks of 64 events back. Measured
// (BenchmarkInclusionProof, 1M events in memory, a loaded machine): strides
// 4, 5 and 6 made a proof in 43, 49 and 64 µs for 2.3, 1.1 and 0.55 bytes
// per event; on JetStream the read back costs 0.25-0.4 ms a proof through a
// bounded read (RangeReader), several ms through Read.
const storedLevelStride = 6

// blockLeaves is the number of leaves under one node of the lowest stored
// level: the events a proof reads back from the log to recompute a block.
const blockLeaves = 1 << storedLevelStride

// maxLevels bounds the height of the tree: 2^63 events is beyond any log.
const maxLevels = 64

// blockReadTimeout bounds the log reads of one root or proof (at most two
// blocks of blockLeaves events).
const blockReadTimeout = 10 * time.Second

// ErrTreeSize reports a tree size or position outside the tree.
var ErrTreeSize = errors.New("audit: size or position outside the tree")

// ErrLogChanged reports events read back from the log that no longer hash
// to what the tree computed from them when it read them first: an event
// was altered, removed or inserted around the ledger since. The root or
// proof asked for is refused rather than computed over altered events;
// VerifyLog (ledger verify) names the first bad position.
var ErrLogChanged = errors.New("audit: the log no longer matches its Merkle tree")

// LeafHash returns the RFC 6962 leaf hash of an event: SHA-256(0x00 ||
// Canonical(e)). The leaf is the canonical encoding, not the chain hash, so
// that a third party proves an event's inclusion from the event alone; the
// encoding includes the position, so a leaf cannot be proven at another index.
func LeafHash(e eventstore.Event) Hash {
	return leafHashOf(eventstore.Canonical(e))
}

// leafPrefix is RFC 6962's leaf prefix as a slice that a hash.Hash's Write
// takes without allocating one per call.
var leafPrefix = []byte{rfc6962.RFC6962LeafHashPrefix}

func leafHashOf(leaf []byte) Hash {
	h := sha256.New()
	h.Write(leafPrefix)
	h.Write(leaf)
	var out Hash
	h.Sum(out[:0])
	return out
}

// hashChildren is rfc6962.DefaultHasher.HashChildren without allocations:
// SHA-256(0x01 || left || right).
func hashChildren(left, right Hash) Hash {
	var buf [1 + 2*sha256.Size]byte
	buf[0] = rfc6962.RFC6962NodeHashPrefix
	copy(buf[1:], left[:])
	copy(buf[1+sha256.Size:], right[:])
	return sha256.Sum256(buf[:])
}

// Tree is the RFC 6962 Merkle tree over the log: leaf i (0-based) is the
// event at position i+1. It grows by appending events in order and answers
// roots and proofs for any size up to its own, reading back from the log the
// few events a proof needs below its lowest stored level. It is safe for
// concurrent use: one goroutine appends (Follow) while others ask for proofs.
//
// Memory: every storedLevelStride-th level above the leaves, about 0.5 MB
// per million events.
type Tree struct {
	mu     sync.RWMutex
	state  treeState
	source leafSource // where the leaves of a block are read back from
}

// NewTree returns an empty tree over log: the tree takes its events in
// order (Append, Follow) and reads blocks of them back from log for proofs,
// so log must be the log those events come from, open for as long as the
// tree answers.
func NewTree(log Log) *Tree {
	return &Tree{source: logLeaves{log}}
}

// Size returns the number of leaves (the log position of the last event).
func (t *Tree) Size() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.state.size
}

// Append adds the next event. Its position must be Size()+1: the tree mirrors
// the log exactly, so a gap or a repeat is refused.
func (t *Tree) Append(e eventstore.Event) error {
	leaf := LeafHash(e)
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.Position != t.state.size+1 {
		return fmt.Errorf("audit: tree of size %d cannot take position %d: %w", t.state.size, e.Position, ErrTreeSize)
	}
	t.state.push(0, leaf)
	return nil
}

// snapshot returns the tree as it stands, to be read without the lock: its
// stored levels are only ever appended to, so the copy stays valid.
func (t *Tree) snapshot() *view {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := t.state
	s.levels = append([][]Hash(nil), t.state.levels...)
	return &view{treeState: s, source: t.source}
}

// head returns the size and root of the whole tree, from its right border
// alone: it reads nothing from the log.
func (t *Tree) head() (uint64, Hash) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.state.size, t.state.frontierRoot()
}

// Root returns the root hash of the tree of the first size leaves. The root
// of the empty tree is SHA-256 of nothing, as RFC 6962 says.
func (t *Tree) Root(size uint64) (Hash, error) {
	ctx, cancel := context.WithTimeout(context.Background(), blockReadTimeout)
	defer cancel()
	return t.rootAt(ctx, size)
}

func (t *Tree) rootAt(ctx context.Context, size uint64) (Hash, error) {
	v := t.snapshot()
	if size > v.size {
		return Hash{}, fmt.Errorf("audit: root at size %d of a tree of size %d: %w", size, v.size, ErrTreeSize)
	}
	return v.root(ctx, size)
}

// InclusionProof proves that the event at position is leaf position-1 of
// the tree of the given size.
func (t *Tree) InclusionProof(position, size uint64) (InclusionProof, error) {
	ctx, cancel := context.WithTimeout(context.Background(), blockReadTimeout)
	defer cancel()
	return t.snapshot().inclusionProof(ctx, position, size)
}

func (v *view) inclusionProof(ctx context.Context, position, size uint64) (InclusionProof, error) {
	if position == 0 || position > size || size > v.size {
		return InclusionProof{}, fmt.Errorf("audit: inclusion of position %d in size %d of a tree of size %d: %w",
			position, size, v.size, ErrTreeSize)
	}
	nodes, err := proof.Inclusion(position-1, size)
	if err != nil {
		return InclusionProof{}, fmt.Errorf("audit: inclusion proof: %w", err)
	}
	p := InclusionProof{Format: InclusionProofFormat, Position: position, TreeSize: size}
	if p.Hashes, err = v.rehash(ctx, nodes); err != nil {
		return InclusionProof{}, err
	}
	if p.LeafHash, err = v.leaf(ctx, position-1); err != nil {
		return InclusionProof{}, err
	}
	if p.RootHash, err = v.root(ctx, size); err != nil {
		return InclusionProof{}, err
	}
	return p, nil
}

// ConsistencyProof proves that the tree of size from is a prefix of the tree
// of size to: no event of the first was changed, removed or reordered.
func (t *Tree) ConsistencyProof(from, to uint64) (ConsistencyProof, error) {
	v := t.snapshot()
	if from > to || to > v.size {
		return ConsistencyProof{}, fmt.Errorf("audit: consistency of size %d with size %d of a tree of size %d: %w",
			from, to, v.size, ErrTreeSize)
	}
	nodes, err := proof.Consistency(from, to)
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("audit: consistency proof: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), blockReadTimeout)
	defer cancel()
	p := ConsistencyProof{Format: ConsistencyProofFormat, FromSize: from, ToSize: to}
	if p.Hashes, err = v.rehash(ctx, nodes); err != nil {
		return ConsistencyProof{}, err
	}
	if p.FromRoot, err = v.root(ctx, from); err != nil {
		return ConsistencyProof{}, err
	}
	if p.ToRoot, err = v.root(ctx, to); err != nil {
		return ConsistencyProof{}, err
	}
	return p, nil
}

// Subscriber is the part of eventstore.Store the tree follows.
type Subscriber interface {
	Subscribe(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error
}

// Follow keeps the tree up to date with the log until ctx ends, starting
// after the tree's current size. It returns ctx's error on a clean stop.
func (t *Tree) Follow(ctx context.Context, log Subscriber) error {
	err := log.Subscribe(ctx, t.Size(), t.Append)
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("audit: follow log: %w", err)
	}
	return ctx.Err()
}
