package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hrss-ledger/ledger/domain"
)

// The evidence package: one directory a third party verifies with the
// public key and the CLI alone (VerifyEvidence).
const (
	EvidenceFormat  = "hrss-ledger/evidence/v1"
	ManifestFile    = "manifest.json"   // Manifest: what the package is and the SHA-256 of every other file
	CheckpointFile  = "checkpoint.json" // the signed Checkpoint the proofs lead to
	EventsFile      = "events.json"     // []EvidenceEvent, in log order
	HistoryCSVFile  = "history.csv"     // the account's history, UTF-8 with BOM, bilingual header
	HistoryXLSXFile = "history.xlsx"    // the same rows for Excel/WPS
	KeyCopyFile     = PublicKeyFile     // a copy of the public key; verify with one obtained separately
)

// maxEvidenceEntries bounds one package: an account's history for a case,
// not a dump of the log (use the log export for that).
const maxEvidenceEntries = 100_000

// ErrEvidence reports an evidence package that does not verify: a file
// altered or missing, an event not in the checkpointed log, or a history
// row that does not follow from its event.
var ErrEvidence = errors.New("audit: evidence does not verify")

// ErrNotCheckpointed reports history newer than the checkpoint given to
// WriteEvidence: sign a fresh checkpoint (Signer.Checkpoint) first.
var ErrNotCheckpointed = errors.New("audit: history is newer than the checkpoint")

// Evidence is what WriteEvidence packages: one account's history as the
// projections give it (GET /v1/history), oldest first.
type Evidence struct {
	Account  string
	From, To string // YYYY-MM-DD bounds of the history, "" when open
	Entries  []domain.HistoryEntry
}

// Manifest describes an evidence package.
type Manifest struct {
	Format     string       `json:"format"`
	Account    string       `json:"account"`
	From       string       `json:"from,omitempty"`
	To         string       `json:"to,omitempty"`
	Created    time.Time    `json:"created"`
	Entries    int          `json:"entries"`
	Events     int          `json:"events"`
	Checkpoint Checkpoint   `json:"checkpoint"`
	Files      []FileDigest `json:"files"`
}

// FileDigest is one file of the package with its SHA-256.
type FileDigest struct {
	Name   string `json:"name"`
	SHA256 Hash   `json:"sha256"`
}

// EvidenceEvent is one event behind the history, with what proves it: the
// hash of the event before it (so its chain hash can be recomputed) and its
// inclusion proof in the checkpointed tree.
type EvidenceEvent struct {
	Event    EventRecord    `json:"event"`
	PrevHash Hash           `json:"prev_hash"`
	Proof    InclusionProof `json:"proof"`
}

// WriteEvidence writes an evidence package into dir (created if needed):
// the history as CSV and XLSX, the events behind it with their hashes and
// inclusion proofs against cp, cp itself, the public key and the manifest.
// cp must be a checkpoint of tree covering every entry; the package is
// checked against it before it is written.
func WriteEvidence(ctx context.Context, dir string, ev Evidence, log Log, tree *Tree, cp Checkpoint, pub ed25519.PublicKey) (Manifest, error) {
	if err := checkExportable(ev, tree, cp, pub); err != nil {
		return Manifest{}, err
	}
	events, err := evidenceEvents(ctx, ev.Entries, log, tree, cp.LogSize)
	if err != nil {
		return Manifest{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Manifest{}, fmt.Errorf("audit: evidence directory: %w", err)
	}
	rows := historyRows(ev.Entries, events)
	files := []struct {
		name  string
		write func() ([]byte, error)
	}{
		{CheckpointFile, func() ([]byte, error) { return marshalFile(cp) }},
		{EventsFile, func() ([]byte, error) { return marshalFile(events) }},
		{HistoryCSVFile, func() ([]byte, error) { return encodeCSV(rows) }},
		{HistoryXLSXFile, func() ([]byte, error) { return encodeXLSX(ev.Account, rows) }},
		{KeyCopyFile, func() ([]byte, error) { return encodePublicKey(pub) }},
	}
	m := Manifest{Format: EvidenceFormat, Account: ev.Account, From: ev.From, To: ev.To,
		Created: time.Now().UTC().Truncate(time.Second), Entries: len(ev.Entries), Events: len(events), Checkpoint: cp}
	for _, f := range files {
		data, err := f.write()
		if err != nil {
			return Manifest{}, fmt.Errorf("audit: evidence %s: %w", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), data, 0o644); err != nil {
			return Manifest{}, fmt.Errorf("audit: evidence: %w", err)
		}
		m.Files = append(m.Files, FileDigest{Name: f.name, SHA256: sha256.Sum256(data)})
	}
	data, err := marshalFile(m)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, ManifestFile), data, 0o644)
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("audit: evidence manifest: %w", err)
	}
	return m, nil
}

func checkExportable(ev Evidence, tree *Tree, cp Checkpoint, pub ed25519.PublicKey) error {
	if len(ev.Entries) > maxEvidenceEntries {
		return fmt.Errorf("audit: evidence of %d entries, limit %d: narrow --from/--to", len(ev.Entries), maxEvidenceEntries)
	}
	if err := VerifyCheckpoint(cp, pub); err != nil {
		return err
	}
	root, err := tree.Root(cp.LogSize)
	if err != nil {
		return err
	}
	if root != cp.RootHash {
		return fmt.Errorf("%w: the checkpoint's root is not the tree's root at size %d", ErrProof, cp.LogSize)
	}
	for _, entry := range ev.Entries {
		if entry.Position == 0 || entry.Position > cp.LogSize {
			return fmt.Errorf("%w: entry at position %d, checkpoint covers %d", ErrNotCheckpointed, entry.Position, cp.LogSize)
		}
	}
	return nil
}

func marshalFile(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
