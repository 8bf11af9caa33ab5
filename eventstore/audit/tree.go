package audit

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/hrss-ledger/ledger/eventstore"
)

// storedLevelStride says which levels of the tree are kept in memory: the
// leaves and every level that is a multiple of the stride. A node of another
// level is recomputed from the stored level below it, at most 2^(stride-1)
// nodes and 7 hashes for a stride of 4, which keeps a proof well under a
// millisecond while the tree costs about 34 bytes per event (32 for the leaf,
// 2 for the upper levels) instead of 64 for all levels.
const storedLevelStride = 4

// maxLevels bounds the height of the tree: 2^63 events is beyond any log.
const maxLevels = 64

// ErrTreeSize reports a tree size or position outside the tree.
var ErrTreeSize = errors.New("audit: size or position outside the tree")

// LeafHash returns the RFC 6962 leaf hash of an event: SHA-256(0x00 ||
// Canonical(e)). The leaf is the canonical encoding, not the chain hash, so
// that a third party proves an event's inclusion from the event alone; the
// encoding includes the position, so a leaf cannot be proven at another index.
func LeafHash(e eventstore.Event) Hash {
	return leafHashOf(eventstore.Canonical(e))
}

func leafHashOf(leaf []byte) Hash {
	h := sha256.New()
	h.Write([]byte{rfc6962.RFC6962LeafHashPrefix})
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
// roots and proofs for any size up to its own. It is safe for concurrent use:
// one goroutine appends (Follow) while others ask for proofs.
//
// Memory: the leaf hashes (32 bytes per event) and every storedLevelStride-th
// level above them, about 34 MB per million events.
type Tree struct {
	mu   sync.RWMutex
	size uint64
	// levels[k] holds the complete nodes of tree level k*storedLevelStride,
	// left to right.
	levels [][]Hash
	// frontier[l] is the root of the complete subtree at level l on the
	// right border, valid when bit l of size is set: the compact range of
	// [0, size), which the next append extends.
	frontier [maxLevels]Hash
}

// NewTree returns an empty tree.
func NewTree() *Tree {
	return &Tree{levels: make([][]Hash, 1)}
}

// Size returns the number of leaves (the log position of the last event).
func (t *Tree) Size() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.size
}

// Append adds the next event. Its position must be Size()+1: the tree mirrors
// the log exactly, so a gap or a repeat is refused.
func (t *Tree) Append(e eventstore.Event) error {
	leaf := LeafHash(e)
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.Position != t.size+1 {
		return fmt.Errorf("audit: tree of size %d cannot take position %d: %w", t.size, e.Position, ErrTreeSize)
	}
	t.appendLeaf(leaf)
	return nil
}

// appendLeaf stores a leaf and every node it completes, carrying up the
// right border like a binary counter.
func (t *Tree) appendLeaf(leaf Hash) {
	index := t.size
	t.levels[0] = append(t.levels[0], leaf)
	h, level := leaf, uint(0)
	for ; index>>level&1 == 1; level++ {
		h = hashChildren(t.frontier[level], h)
		t.keep(level+1, h)
	}
	t.frontier[level] = h
	t.size++
}

func (t *Tree) keep(level uint, h Hash) {
	if level%storedLevelStride != 0 {
		return
	}
	k := int(level / storedLevelStride)
	if k == len(t.levels) {
		t.levels = append(t.levels, nil)
	}
	t.levels[k] = append(t.levels[k], h)
}

// node returns the hash of a complete node of the tree. The caller holds the
// lock and has checked that the node is complete.
func (t *Tree) node(id compact.NodeID) Hash {
	if id.Level%storedLevelStride == 0 {
		return t.levels[id.Level/storedLevelStride][id.Index]
	}
	left := t.node(compact.NewNodeID(id.Level-1, 2*id.Index))
	right := t.node(compact.NewNodeID(id.Level-1, 2*id.Index+1))
	return hashChildren(left, right)
}

// Root returns the root hash of the tree of the first size leaves. The root
// of the empty tree is SHA-256 of nothing, as RFC 6962 says.
func (t *Tree) Root(size uint64) (Hash, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if size > t.size {
		return Hash{}, fmt.Errorf("audit: root at size %d of a tree of size %d: %w", size, t.size, ErrTreeSize)
	}
	return t.root(size), nil
}

func (t *Tree) root(size uint64) Hash {
	if size == 0 {
		return Hash(sha256.Sum256(nil))
	}
	if size == t.size {
		return t.frontierRoot()
	}
	ids := compact.RangeNodes(0, size, nil)
	h := t.node(ids[len(ids)-1])
	for i := len(ids) - 2; i >= 0; i-- {
		h = hashChildren(t.node(ids[i]), h)
	}
	return h
}

// frontierRoot folds the right border, lowest subtree first.
func (t *Tree) frontierRoot() Hash {
	var h Hash
	first := true
	for level := range uint(bits.Len64(t.size)) {
		if t.size>>level&1 == 0 {
			continue
		}
		if first {
			h, first = t.frontier[level], false
			continue
		}
		h = hashChildren(t.frontier[level], h)
	}
	return h
}

// InclusionProof proves that the event at position is leaf position-1 of
// the tree of the given size.
func (t *Tree) InclusionProof(position, size uint64) (InclusionProof, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if position == 0 || position > size || size > t.size {
		return InclusionProof{}, fmt.Errorf("audit: inclusion of position %d in size %d of a tree of size %d: %w",
			position, size, t.size, ErrTreeSize)
	}
	nodes, err := proof.Inclusion(position-1, size)
	if err != nil {
		return InclusionProof{}, fmt.Errorf("audit: inclusion proof: %w", err)
	}
	hashes, err := t.rehash(nodes)
	if err != nil {
		return InclusionProof{}, err
	}
	return InclusionProof{
		Format: InclusionProofFormat, Position: position, TreeSize: size,
		LeafHash: t.levels[0][position-1], RootHash: t.root(size), Hashes: hashes,
	}, nil
}

// ConsistencyProof proves that the tree of size from is a prefix of the tree
// of size to: no event of the first was changed, removed or reordered.
func (t *Tree) ConsistencyProof(from, to uint64) (ConsistencyProof, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if from > to || to > t.size {
		return ConsistencyProof{}, fmt.Errorf("audit: consistency of size %d with size %d of a tree of size %d: %w",
			from, to, t.size, ErrTreeSize)
	}
	nodes, err := proof.Consistency(from, to)
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("audit: consistency proof: %w", err)
	}
	hashes, err := t.rehash(nodes)
	if err != nil {
		return ConsistencyProof{}, err
	}
	return ConsistencyProof{
		Format: ConsistencyProofFormat, FromSize: from, ToSize: to,
		FromRoot: t.root(from), ToRoot: t.root(to), Hashes: hashes,
	}, nil
}

// rehash fetches the proof's nodes and folds the ephemeral ones, as the
// library's proof.Nodes describes.
func (t *Tree) rehash(nodes proof.Nodes) ([]Hash, error) {
	raw := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h := t.node(id)
		raw[i] = h[:]
	}
	folded, err := nodes.Rehash(raw, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("audit: proof: %w", err)
	}
	out := make([]Hash, len(folded))
	for i, h := range folded {
		copy(out[i][:], h)
	}
	return out, nil
}

// Build reads the whole log into a new tree.
func Build(ctx context.Context, log Log) (*Tree, error) {
	t := NewTree()
	if err := log.Read(ctx, 0, t.Append); err != nil {
		return nil, fmt.Errorf("audit: build tree: %w", err)
	}
	return t, nil
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
