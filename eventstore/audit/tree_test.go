package audit_test

import (
	"errors"
	"math/bits"
	"slices"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
)

// referenceRoot is the Merkle Tree Hash of RFC 6962 section 2.1, written
// straight from the definition, over the canonical encodings of the events.
func referenceRoot(events []eventstore.Event) []byte {
	h := rfc6962.DefaultHasher
	switch n := len(events); n {
	case 0:
		return h.EmptyRoot()
	case 1:
		return h.HashLeaf(eventstore.Canonical(events[0]))
	default:
		k := 1 << (bits.Len(uint(n-1)) - 1) // the largest power of two below n
		return h.HashChildren(referenceRoot(events[:k]), referenceRoot(events[k:]))
	}
}

func TestTreeRootsFollowRFC6962AtEverySize(t *testing.T) {
	store := memoryLog(t, 70)
	events := readAll(t, store)
	tree := buildTree(t, store)
	for size := range uint64(len(events) + 1) {
		got, err := tree.Root(size)
		if err != nil {
			t.Fatalf("Root(%d): %v", size, err)
		}
		if want := referenceRoot(events[:size]); !slices.Equal(got[:], want) {
			t.Errorf("Root(%d) = %s, want %x", size, got, want)
		}
	}
	if _, err := tree.Root(71); !errors.Is(err, audit.ErrTreeSize) {
		t.Errorf("Root beyond the tree: %v, want ErrTreeSize", err)
	}
}

func TestInclusionProofsVerifyForEveryPositionAndSize(t *testing.T) {
	store := memoryLog(t, 40)
	events := readAll(t, store)
	tree := buildTree(t, store)
	for size := uint64(1); size <= 40; size++ {
		root := referenceRoot(events[:size])
		for position := uint64(1); position <= size; position++ {
			p, err := tree.InclusionProof(position, size)
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", position, size, err)
			}
			leaf := audit.LeafHash(events[position-1])
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, position-1, size, leaf[:], raw(p.Hashes), root); err != nil {
				t.Errorf("inclusion of %d in %d does not verify: %v", position, size, err)
			}
		}
	}
}

func TestConsistencyProofsVerifyForEveryPairOfSizes(t *testing.T) {
	store := memoryLog(t, 40)
	events := readAll(t, store)
	tree := buildTree(t, store)
	for to := uint64(0); to <= 40; to++ {
		for from := uint64(0); from <= to; from++ {
			p, err := tree.ConsistencyProof(from, to)
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", from, to, err)
			}
			err = proof.VerifyConsistency(rfc6962.DefaultHasher, from, to, raw(p.Hashes),
				referenceRoot(events[:from]), referenceRoot(events[:to]))
			if err != nil {
				t.Errorf("consistency of %d with %d does not verify: %v", from, to, err)
			}
		}
	}
}

func TestTreeRefusesWhatIsNotTheNextPosition(t *testing.T) {
	events := readAll(t, memoryLog(t, 3))
	tree := audit.NewTree(events)
	if err := tree.Append(events[1]); !errors.Is(err, audit.ErrTreeSize) {
		t.Errorf("Append(position 2) to an empty tree: %v, want ErrTreeSize", err)
	}
	if _, err := tree.InclusionProof(1, 1); !errors.Is(err, audit.ErrTreeSize) {
		t.Errorf("InclusionProof beyond the tree: %v, want ErrTreeSize", err)
	}
	if _, err := tree.ConsistencyProof(2, 1); !errors.Is(err, audit.ErrTreeSize) {
		t.Errorf("ConsistencyProof backwards: %v, want ErrTreeSize", err)
	}
}

func TestTreeFollowsTheLogAsItGrows(t *testing.T) {
	store := memoryLog(t, 10)
	tree := buildTree(t, store)
	ctx := testContext(t)
	done := make(chan error, 1)
	followCtx, stop := contextWithCancel(ctx)
	go func() { done <- tree.Follow(followCtx, store) }()
	fill(t, store, 25)
	deadline := time.Now().Add(10 * time.Second)
	for tree.Size() < 35 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	stop()
	if err := <-done; !errors.Is(err, followCtx.Err()) {
		t.Errorf("Follow returned %v, want the context's error", err)
	}
	got, err := tree.Root(35)
	if err != nil {
		t.Fatalf("Root(35) after following: %v", err)
	}
	if want := referenceRoot(readAll(t, store)); !slices.Equal(got[:], want) {
		t.Errorf("followed root %s, want %x", got, want)
	}
}

func raw(hashes []audit.Hash) [][]byte {
	out := make([][]byte, len(hashes))
	for i := range hashes {
		out[i] = hashes[i][:]
	}
	return out
}
