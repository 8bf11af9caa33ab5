package audit_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/hrss-ledger/ledger/eventstore/audit"
)

// proofDir writes, as the server and an auditor would, the files
// `ledger audit verify-proof` reads: two checkpoints, an inclusion proof
// carrying its event, a bare one, the event alone, a consistency proof, and
// the public key.
func proofDir(t *testing.T) (string, *audit.Signer) {
	t.Helper()
	dir := t.TempDir()
	signer, err := audit.LoadOrCreateSigner(filepath.Join(dir, "server"))
	if err != nil {
		t.Fatal(err)
	}
	store := memoryLog(t, 64)
	older := signer.Checkpoint(buildTree(t, store), closeOfDay)
	fill(t, store, 36)
	tree := buildTree(t, store)
	newer := signer.Checkpoint(tree, closeOfDay.AddDate(0, 0, 1))
	events, err := audit.ReadRange(testContext(t), store, 42, 43)
	if err != nil {
		t.Fatal(err)
	}
	inclusion, err := tree.InclusionProof(42, 100)
	if err != nil {
		t.Fatal(err)
	}
	bare := inclusion
	record := audit.Record(events[0])
	inclusion.Event = &record
	consistency, err := tree.ConsistencyProof(64, 100)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]any{
		"older.json": older, "newer.json": newer, "inclusion.json": inclusion, "bare.json": bare,
		"event42.json": record, "event43.json": audit.Record(events[1]), "consistency.json": consistency,
	}
	for name, v := range files {
		if err := audit.WriteJSONFile(filepath.Join(dir, name), v); err != nil {
			t.Fatal(err)
		}
	}
	return dir, signer
}

func TestVerifyProofFiles(t *testing.T) {
	dir, _ := proofDir(t)
	other := newSigner(t)
	if err := audit.WritePublicKey(filepath.Join(dir, "other.pub"), other.PublicKey()); err != nil {
		t.Fatal(err)
	}
	in := func(name string) string {
		if name == "" {
			return ""
		}
		return filepath.Join(dir, name)
	}
	tests := []struct {
		name                                 string
		key, checkpoint, proof, event, older string
		want                                 error
	}{
		{"an inclusion proof carrying its event verifies", "server/audit.pub", "newer.json", "inclusion.json", "", "", nil},
		{"a bare inclusion proof verifies with the event's file", "server/audit.pub", "newer.json", "bare.json", "event42.json", "", nil},
		{"an inclusion proof for another event does not verify", "server/audit.pub", "newer.json", "bare.json", "event43.json", "", audit.ErrProof},
		{"an inclusion proof against the older checkpoint does not verify", "server/audit.pub", "older.json", "inclusion.json", "", "", audit.ErrProof},
		{"a proof checked with another key does not verify", "other.pub", "newer.json", "inclusion.json", "", "", audit.ErrBadSignature},
		{"a consistency proof verifies", "server/audit.pub", "newer.json", "consistency.json", "", "older.json", nil},
		{"a consistency proof with its checkpoints swapped does not verify", "server/audit.pub", "older.json", "consistency.json", "", "newer.json", audit.ErrProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			said, err := audit.VerifyProofFiles(audit.ProofFiles{PublicKey: in(tt.key), Checkpoint: in(tt.checkpoint),
				Proof: in(tt.proof), Event: in(tt.event), OldCheckpoint: in(tt.older)})
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("VerifyProofFiles = %q, %v; want %v", said, err, tt.want)
			}
			if err == nil && said == "" {
				t.Errorf("a verified proof says nothing")
			}
		})
	}
}
