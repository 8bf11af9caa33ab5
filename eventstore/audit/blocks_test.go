package audit_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
)

// referenceTree is the library's in-memory tree, which keeps every leaf:
// what the audit tree, which keeps none, must answer alike.
func referenceTree(events []eventstore.Event) *testonly.Tree {
	ref := testonly.New(rfc6962.DefaultHasher)
	for _, e := range events {
		ref.AppendData(eventstore.Canonical(e))
	}
	return ref
}

// proofCase is an inclusion proof of position in size and a consistency
// proof of size with the whole tree.
type proofCase struct{ position, size uint64 }

// proofCases picks the sizes around block and stored-level boundaries, and
// random ones, each with its first and last position and a random one.
func proofCases(n uint64) []proofCase {
	sizes := []uint64{1, 2, 63, 64, 65, 127, 128, 129, 4095, 4096, 4097, n - 1, n}
	rng := rand.New(rand.NewPCG(6, 962))
	for range 12 {
		sizes = append(sizes, 1+rng.Uint64N(n))
	}
	var out []proofCase
	for _, size := range sizes {
		if size == 0 || size > n {
			continue
		}
		out = append(out, proofCase{1, size}, proofCase{size, size}, proofCase{1 + rng.Uint64N(size), size})
	}
	return out
}

// checkAgainstReference compares every root and proof of proofCases with
// the reference tree's.
func checkAgainstReference(t *testing.T, tree *audit.Tree, ref *testonly.Tree) {
	t.Helper()
	n := ref.Size()
	for _, c := range proofCases(n) {
		root, err := tree.Root(c.size)
		if err != nil || !slices.Equal(root[:], ref.HashAt(c.size)) {
			t.Errorf("Root(%d) = %s, %v; want %x", c.size, root, err, ref.HashAt(c.size))
		}
		inclusion, err := tree.InclusionProof(c.position, c.size)
		if err != nil {
			t.Fatalf("InclusionProof(%d, %d): %v", c.position, c.size, err)
		}
		if want, _ := ref.InclusionProof(c.position-1, c.size); !slices.EqualFunc(raw(inclusion.Hashes), want, slices.Equal) {
			t.Errorf("InclusionProof(%d, %d) hashes differ from the in-memory tree's", c.position, c.size)
		}
		if want := ref.LeafHash(c.position - 1); !slices.Equal(inclusion.LeafHash[:], want) {
			t.Errorf("InclusionProof(%d, %d) leaf %s, want %x", c.position, c.size, inclusion.LeafHash, want)
		}
		consistency, err := tree.ConsistencyProof(c.size, n)
		if err != nil {
			t.Fatalf("ConsistencyProof(%d, %d): %v", c.size, n, err)
		}
		if want, _ := ref.ConsistencyProof(c.size, n); !slices.EqualFunc(raw(consistency.Hashes), want, slices.Equal) {
			t.Errorf("ConsistencyProof(%d, %d) hashes differ from the in-memory tree's", c.size, n)
		}
	}
}

func TestTreeAnswersLikeATreeKeepingEveryLeaf(t *testing.T) {
	// 4500 events: two stored levels (blocks of 64, and of 4096) and an
	// incomplete block at the end.
	store := memoryLog(t, 4500)
	ref := referenceTree(readAll(t, store))
	t.Run("a built tree answers like the in-memory tree", func(t *testing.T) {
		checkAgainstReference(t, buildTree(t, store), ref)
	})
	t.Run("a followed tree answers like the in-memory tree", func(t *testing.T) {
		tree := audit.NewTree(store)
		for _, e := range readAll(t, store) {
			if err := tree.Append(e); err != nil {
				t.Fatal(err)
			}
		}
		checkAgainstReference(t, tree, ref)
	})
	t.Run("a tree over a log that reads ranges answers like the in-memory tree", func(t *testing.T) {
		checkAgainstReference(t, buildTree(t, rangeLog{readAll(t, store)}), ref)
	})
	t.Run("the tree of a verification answers like the in-memory tree", func(t *testing.T) {
		_, tree, err := audit.VerifyLog(testContext(t), store, audit.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkAgainstReference(t, tree, ref)
	})
}

// rangeLog is a log in memory with audit.RangeReader's bounded read, which
// hands over runs of rangeRunEvents, the last one past the end asked for,
// as a store reading whole messages does.
type rangeLog struct{ audit.Events }

const rangeRunEvents = 100

func (l rangeLog) ReadRange(ctx context.Context, after, last eventstore.Position, fn func([]eventstore.Event) error) error {
	for start := after; start < last && start < uint64(len(l.Events)); start += rangeRunEvents {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(l.Events[start:min(start+rangeRunEvents, uint64(len(l.Events)))]); err != nil {
			return err
		}
	}
	return nil
}

// TestTreeReopenedFromTheLogGivesTheSameProofs builds the tree over a
// JetStream log, restarts the store and builds it again from the reopened
// log: the proofs, read back from the files, equal those of the first tree
// and of the in-memory tree.
func TestTreeReopenedFromTheLogGivesTheSameProofs(t *testing.T) {
	dir := t.TempDir()
	store := openJetStream(t, dir)
	fill(t, store, 300)
	ref := referenceTree(readAll(t, store))
	before := map[proofCase]audit.InclusionProof{}
	tree := buildTree(t, store)
	for _, c := range proofCases(300) {
		p, err := tree.InclusionProof(c.position, c.size)
		if err != nil {
			t.Fatalf("InclusionProof(%d, %d): %v", c.position, c.size, err)
		}
		before[c] = p
	}
	if err := store.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	reopened := openJetStream(t, dir)
	defer reopened.Close()
	rebuilt := buildTree(t, reopened)
	for c, want := range before {
		got, err := rebuilt.InclusionProof(c.position, c.size)
		if err != nil {
			t.Fatalf("InclusionProof(%d, %d) after reopening: %v", c.position, c.size, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("InclusionProof(%d, %d) after reopening = %+v, before %+v", c.position, c.size, got, want)
		}
	}
	checkAgainstReference(t, rebuilt, ref)
}

// TestTamperedLogRefusesProofsOverTheAlteredBlock alters the log after the
// tree was built from it. A root or proof that needs the altered block
// recomputes it from the log, finds it no longer hashes to what the tree
// kept, and is refused with ErrLogChanged; one that needs other blocks only
// is still right, since the tree holds the log as it was.
func TestTamperedLogRefusesProofsOverTheAlteredBlock(t *testing.T) {
	// 200 events: complete blocks 1..64, 65..128, 129..192, and 193..200.
	events := readAll(t, memoryLog(t, 200))
	tests := []struct {
		name   string
		change func(audit.Events) audit.Events
		ask    func(*audit.Tree) error
		want   error
	}{
		{"an altered event fails a proof of its own inclusion", alterData(70), inclusion(71, 200), audit.ErrLogChanged},
		{"an altered event fails a proof of its block's neighbour", alterData(70), inclusion(65, 200), audit.ErrLogChanged},
		{"an altered event fails a root at a size inside its block", alterData(70), root(100), audit.ErrLogChanged},
		{"an altered event fails a consistency proof from a size in its block", alterData(70), consistency(100, 200), audit.ErrLogChanged},
		{"an altered event in the last, incomplete block fails against the right border", alterData(195), inclusion(196, 200), audit.ErrLogChanged},
		{"a dropped event fails a proof over its block", dropEvent(129), inclusion(150, 200), audit.ErrLogChanged},
		{"an altered event leaves proofs over other blocks right", alterData(70), inclusion(5, 200), nil},
		{"an altered event leaves roots at block boundaries right", alterData(70), root(128), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := slices.Clone(events)
			tree := buildTree(t, log)
			tampered := tt.change(log)
			copy(log, tampered) // the tree reads the slice it was built from
			err := tt.ask(tree)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("a proof over untouched blocks still verifies against the untampered root", func(t *testing.T) {
		log := slices.Clone(events)
		tree := buildTree(t, log)
		alterData(70)(log)
		p, err := tree.InclusionProof(5, 200)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.RootHash[:], referenceRoot(events); !slices.Equal(got, want) {
			t.Errorf("root %x, want the untampered log's %x", got, want)
		}
	})
}

func alterData(index int) func(audit.Events) audit.Events {
	return func(l audit.Events) audit.Events {
		l[index].Data = slices.Clone(l[index].Data)
		l[index].Data[3] ^= 0x01
		return l
	}
}

// dropEvent removes the event at position and moves the later ones down,
// leaving the last slot a copy of the last event, as a store that lost one
// message would read.
func dropEvent(position int) func(audit.Events) audit.Events {
	return func(l audit.Events) audit.Events {
		return append(slices.Delete(slices.Clone(l), position-1, position), l[len(l)-1])
	}
}

func inclusion(position, size uint64) func(*audit.Tree) error {
	return func(tree *audit.Tree) error {
		_, err := tree.InclusionProof(position, size)
		return err
	}
}

func consistency(from, to uint64) func(*audit.Tree) error {
	return func(tree *audit.Tree) error {
		_, err := tree.ConsistencyProof(from, to)
		return err
	}
}

func root(size uint64) func(*audit.Tree) error {
	return func(tree *audit.Tree) error {
		_, err := tree.Root(size)
		return err
	}
}

// TestVerifyLogChecksACheckpointRecordedLongAfterItsSize records a
// checkpoint thousands of events after the size it signs, beyond the
// leaves the verification keeps: its root is read back from the log.
func TestVerifyLogChecksACheckpointRecordedLongAfterItsSize(t *testing.T) {
	store := memoryLog(t, 100)
	signer := newSigner(t)
	cp := signer.Checkpoint(buildTree(t, store), closeOfDay)
	fill(t, store, 5000)
	e, err := audit.CheckpointEvent(cp, "day", "2017-03-31")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(testContext(t), eventstore.Commit{CommandID: "late", Fingerprint: "fp", Events: []eventstore.Event{e}}); err != nil {
		t.Fatal(err)
	}
	report, _, err := audit.VerifyLog(testContext(t), store, audit.VerifyOptions{PublicKey: signer.PublicKey()})
	if err != nil || report.Checkpoints != 1 {
		t.Errorf("VerifyLog = %+v, %v; want the late checkpoint checked", report, err)
	}
}
