package audit

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// treeState is what the tree keeps of the log: its size, the stored levels
// and the right border.
type treeState struct {
	size uint64
	// levels[k] holds the complete nodes of tree level
	// (k+1)*storedLevelStride, left to right.
	levels [][]Hash
	// frontier[l] is the root of the complete subtree at level l on the
	// right border, valid when bit l of size is set: the compact range of
	// [0, size), which the next append extends.
	frontier [maxLevels]Hash
}

// push adds the root h of a complete subtree at level (a leaf at level 0,
// a block of leaves at storedLevelStride) to the right of the tree, whose
// size is a multiple of the subtree's width. It stores every node that
// completes, carrying up the right border like a binary counter.
func (s *treeState) push(level uint, h Hash) {
	assert(s.size%(1<<level) == 0, "audit: subtree pushed off its alignment")
	s.keep(level, h)
	width := uint64(1) << level
	for index := s.size >> level; index&1 == 1; index >>= 1 {
		h = hashChildren(s.frontier[level], h)
		level++
		s.keep(level, h)
	}
	s.frontier[level] = h
	s.size += width
}

func (s *treeState) keep(level uint, h Hash) {
	if level == 0 || level%storedLevelStride != 0 {
		return
	}
	k := int(level/storedLevelStride) - 1
	if k == len(s.levels) {
		s.levels = append(s.levels, nil)
	}
	s.levels[k] = append(s.levels[k], h)
}

// frontierRoot folds the right border, lowest subtree first.
func (s *treeState) frontierRoot() Hash {
	if s.size == 0 {
		return Hash(sha256.Sum256(nil))
	}
	var h Hash
	first := true
	for level := range uint(bits.Len64(s.size)) {
		if s.size>>level&1 == 0 {
			continue
		}
		if first {
			h, first = s.frontier[level], false
			continue
		}
		h = hashChildren(s.frontier[level], h)
	}
	return h
}

// view is the tree at one size, read without the lock by one root or proof,
// with the blocks of leaves that query has read back from the log.
type view struct {
	treeState
	source  leafSource
	fetched []*blockNodes // read back from source
	offered *blockNodes   // handed over by the caller (offer)
}

func (v *view) root(ctx context.Context, size uint64) (Hash, error) {
	if size == v.size {
		return v.frontierRoot(), nil
	}
	if size == 0 {
		return Hash(sha256.Sum256(nil)), nil
	}
	ids := compact.RangeNodes(0, size, nil)
	h, err := v.node(ctx, ids[len(ids)-1])
	for i := len(ids) - 2; i >= 0 && err == nil; i-- {
		var left Hash
		left, err = v.node(ctx, ids[i])
		h = hashChildren(left, h)
	}
	return h, err
}

// rehash fetches the proof's nodes and folds the ephemeral ones, as the
// library's proof.Nodes describes.
func (v *view) rehash(ctx context.Context, nodes proof.Nodes) ([]Hash, error) {
	raw := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, err := v.node(ctx, id)
		if err != nil {
			return nil, err
		}
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

// node returns the hash of a node complete in the view: from a stored
// level, from the stored level below it, or from its block of leaves.
func (v *view) node(ctx context.Context, id compact.NodeID) (Hash, error) {
	switch {
	case id.Level < storedLevelStride:
		return v.lowNode(ctx, id)
	case id.Level%storedLevelStride == 0:
		return v.levels[id.Level/storedLevelStride-1][id.Index], nil
	}
	left, err := v.node(ctx, compact.NewNodeID(id.Level-1, 2*id.Index))
	if err != nil {
		return Hash{}, err
	}
	right, err := v.node(ctx, compact.NewNodeID(id.Level-1, 2*id.Index+1))
	return hashChildren(left, right), err
}

// lowNode returns a node below the lowest stored level from its block.
func (v *view) lowNode(ctx context.Context, id compact.NodeID) (Hash, error) {
	block := id.Index >> (storedLevelStride - id.Level)
	b, err := v.block(ctx, block)
	if err != nil {
		return Hash{}, err
	}
	return b.nodes[id.Level][id.Index-block<<(storedLevelStride-id.Level)], nil
}

func (v *view) leaf(ctx context.Context, index uint64) (Hash, error) {
	b, err := v.block(ctx, index/blockLeaves)
	if err != nil {
		return Hash{}, err
	}
	return b.nodes[0][index%blockLeaves], nil
}

// blockNodes is a block read back: its leaves and every complete node
// above them below the lowest stored level, so that a proof's nodes in the
// block cost no hashing once the block is checked.
type blockNodes struct {
	index uint64
	nodes [storedLevelStride][]Hash // nodes[l]: the complete nodes of level l, left to right
}

func newBlockNodes(index uint64, leaves []Hash) *blockNodes {
	b := &blockNodes{index: index}
	b.nodes[0] = leaves
	for level := 1; level < storedLevelStride; level++ {
		below := b.nodes[level-1]
		b.nodes[level] = make([]Hash, len(below)/2)
		for i := range b.nodes[level] {
			b.nodes[level][i] = hashChildren(below[2*i], below[2*i+1])
		}
	}
	return b
}

// block returns one block, read back once per query and checked against
// what the tree kept of it.
func (v *view) block(ctx context.Context, index uint64) (*blockNodes, error) {
	if v.offered != nil && v.offered.index == index {
		return v.offered, nil
	}
	for _, b := range v.fetched {
		if b.index == index {
			return b, nil
		}
	}
	leaves, err := v.source.leafHashes(ctx, index*blockLeaves, v.blockEnd(index))
	if err != nil {
		return nil, err
	}
	b := newBlockNodes(index, leaves)
	if err := v.check(b); err != nil {
		return nil, err
	}
	v.fetched = append(v.fetched, b)
	return b, nil
}

// blockEnd returns the leaf index after a block: the block's end, or the
// view's size for the last, incomplete block.
func (v *view) blockEnd(index uint64) uint64 {
	return min((index+1)*blockLeaves, v.size)
}

// offer hands the view the leaves of a block that its caller hashed from
// the log itself, in place of the block offered before; they are checked
// like a block the view reads.
func (v *view) offer(index uint64, leaves []Hash) error {
	b := newBlockNodes(index, leaves)
	if err := v.check(b); err != nil {
		return err
	}
	v.offered = b
	return nil
}

// check compares a block read back from the log with the tree: a complete
// block with its node at the lowest stored level, the last, incomplete one
// with the right border's subtrees below that level. The log then holds, in
// the block, the very events the tree was built from (SHA-256 has no known
// second preimage), or the block is refused.
func (v *view) check(b *blockNodes) error {
	first, n := b.index*blockLeaves, len(b.nodes[0])
	if n == blockLeaves {
		top := b.nodes[storedLevelStride-1]
		got, want := hashChildren(top[0], top[1]), v.levels[0][b.index]
		if got != want {
			return blockChanged(first, n, got, want)
		}
		return nil
	}
	offset := 0 // leaves of the block left of the subtree checked
	for level := storedLevelStride - 1; level >= 0; level-- {
		if n>>level&1 == 0 {
			continue
		}
		got, want := b.nodes[level][offset>>level], v.frontier[level]
		if got != want {
			return blockChanged(first, n, got, want)
		}
		offset += 1 << level
	}
	return nil
}

func blockChanged(first uint64, n int, got, want Hash) error {
	return fmt.Errorf("audit: events %d..%d read back from the log hash to %s, the tree built from them holds %s: %w",
		first+1, first+uint64(n), got, want, ErrLogChanged)
}

// subtreeRoot returns the root over a power-of-two number of leaves, at
// most a block's.
func subtreeRoot(leaves []Hash) Hash {
	n := len(leaves)
	assert(n > 0 && n <= blockLeaves && n&(n-1) == 0, "audit: subtree of a width that is no power of two")
	if n == 1 {
		return leaves[0]
	}
	var buf [blockLeaves / 2]Hash
	for i := range n / 2 {
		buf[i] = hashChildren(leaves[2*i], leaves[2*i+1])
	}
	for n /= 2; n > 1; n /= 2 {
		for i := range n / 2 {
			buf[i] = hashChildren(buf[2*i], buf[2*i+1])
		}
	}
	return buf[0]
}

// assert panics on a programmer error: a broken invariant of the tree.
func assert(cond bool, msg string) {
	if !cond {
		panic(msg)
	}
}
