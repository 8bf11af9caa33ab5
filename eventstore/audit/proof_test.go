package audit_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
)

// roundTrip passes a value through its JSON file form, as an auditor gets it.
func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var back T
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("Unmarshal %s: %v", raw, err)
	}
	return back
}

func TestInclusionProofVerifiesOfflineAndOnlyForItsEvent(t *testing.T) {
	store := memoryLog(t, 100)
	events := readAll(t, store)
	tree := buildTree(t, store)
	signer := newSigner(t)
	cp := roundTrip(t, signer.Checkpoint(tree, closeOfDay))
	otherTree := buildTree(t, memoryLog(t, 101))
	otherCP := signer.Checkpoint(otherTree, closeOfDay)

	proofAt := func(position, size uint64, from *audit.Tree) audit.InclusionProof {
		p, err := from.InclusionProof(position, size)
		if err != nil {
			t.Fatalf("InclusionProof(%d, %d): %v", position, size, err)
		}
		return roundTrip(t, p)
	}
	record := roundTrip(t, audit.Record(events[36]))
	altered := record.Event()
	altered.Data = slices.Clone(altered.Data)
	altered.Data[5] ^= 1

	tests := []struct {
		name  string
		cp    audit.Checkpoint
		event eventstore.Event
		proof audit.InclusionProof
		want  error
	}{
		{"the event read back from its file verifies", cp, record.Event(), proofAt(37, 100, tree), nil},
		{"an altered event does not verify", cp, altered, proofAt(37, 100, tree), audit.ErrProof},
		{"another event with this event's proof does not verify", cp, events[37], proofAt(37, 100, tree), audit.ErrProof},
		{"a proof in a smaller tree does not verify against the checkpoint", cp, events[36], proofAt(37, 99, tree), audit.ErrProof},
		{"a proof from a different tree does not verify", cp, events[36], proofAt(37, 100, otherTree), audit.ErrProof},
		{"a checkpoint of a different tree does not verify", otherCP, events[36], proofAt(37, 101, otherTree), audit.ErrProof},
		{"a proof with a hash changed does not verify", cp, events[36], flipped(proofAt(37, 100, tree)), audit.ErrProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := audit.VerifyInclusionProof(tt.cp, signer.PublicKey(), eventstore.Canonical(tt.event), tt.proof)
			if !errors.Is(err, tt.want) {
				t.Errorf("VerifyInclusionProof = %v, want %v", err, tt.want)
			}
		})
	}
}

func flipped(p audit.InclusionProof) audit.InclusionProof {
	p.Hashes = slices.Clone(p.Hashes)
	p.Hashes[len(p.Hashes)/2][7] ^= 0x80
	return p
}

func TestConsistencyProofVerifiesOfflineAndOnlyForAnExtension(t *testing.T) {
	store := memoryLog(t, 60)
	signer := newSigner(t)
	older := signer.Checkpoint(buildTree(t, store), closeOfDay)
	fill(t, store, 45)
	tree := buildTree(t, store)
	newer := signer.Checkpoint(tree, closeOfDay.AddDate(0, 0, 1))
	good, err := tree.ConsistencyProof(60, 105)
	if err != nil {
		t.Fatalf("ConsistencyProof: %v", err)
	}
	good = roundTrip(t, good)

	events := readAll(t, store)
	events[20].Data = []byte(`{"amount":"1.00"}`)
	rewritten := signer.Checkpoint(buildTree(t, events), closeOfDay.AddDate(0, 0, 1))
	tests := []struct {
		name         string
		older, newer audit.Checkpoint
		proof        audit.ConsistencyProof
		want         error
	}{
		{"an appended log is consistent with its past checkpoint", older, newer, good, nil},
		{"a log rewritten before the old size is not consistent", older, rewritten, good, audit.ErrProof},
		{"checkpoints swapped do not match the proof", newer, older, good, audit.ErrProof},
		{"a checkpoint signed by another key is refused", older, newSigner(t).Checkpoint(tree, closeOfDay), good, audit.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := audit.VerifyConsistencyProof(tt.older, tt.newer, signer.PublicKey(), tt.proof)
			if !errors.Is(err, tt.want) {
				t.Errorf("VerifyConsistencyProof = %v, want %v", err, tt.want)
			}
		})
	}
}
