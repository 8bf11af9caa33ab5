package audit

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/hrss-ledger/ledger/eventstore"
)

// ProofFiles names the files `ledger audit verify-proof` checks, offline.
type ProofFiles struct {
	PublicKey  string // the deployment's audit.pub, obtained separately
	Checkpoint string // checkpoint.json: the checkpoint the proof leads to (the newer one, for consistency)
	Proof      string // an inclusion or a consistency proof, told apart by its "format"
	// Event is the event an inclusion proof is about (an EventRecord). It
	// may be left empty when the proof file carries the event itself.
	Event string
	// OldCheckpoint is the older checkpoint of a consistency proof.
	OldCheckpoint string
}

// VerifyProofFiles checks a proof from files, without the server, and says
// in one sentence what it proved.
func VerifyProofFiles(f ProofFiles) (string, error) {
	pub, err := ReadPublicKey(f.PublicKey)
	if err != nil {
		return "", err
	}
	var cp Checkpoint
	if err := readJSON(f.Checkpoint, &cp); err != nil {
		return "", err
	}
	var kind struct {
		Format string `json:"format"`
	}
	if err := readJSON(f.Proof, &kind); err != nil {
		return "", err
	}
	switch kind.Format {
	case InclusionProofFormat:
		return verifyInclusionFile(f, cp, pub)
	case ConsistencyProofFormat:
		return verifyConsistencyFile(f, cp, pub)
	}
	return "", fmt.Errorf("audit: %s: unknown proof format %q", f.Proof, kind.Format)
}

func verifyInclusionFile(f ProofFiles, cp Checkpoint, pub ed25519.PublicKey) (string, error) {
	var p InclusionProof
	if err := readJSON(f.Proof, &p); err != nil {
		return "", err
	}
	event, err := proofEvent(f, p)
	if err != nil {
		return "", err
	}
	if event.Position != p.Position {
		return "", fmt.Errorf("%w: the event is at position %d, the proof for position %d", ErrProof, event.Position, p.Position)
	}
	if err := VerifyInclusionProof(cp, pub, eventstore.Canonical(event), p); err != nil {
		return "", err
	}
	return fmt.Sprintf("event %s (%s, position %d) is in the log of %d events signed at %s by key %s",
		event.ID, event.Type, event.Position, cp.LogSize, cp.Time.Format("2006-01-02 15:04:05Z07:00"), cp.KeyID), nil
}

// proofEvent reads the event from its own file, or else from the proof.
func proofEvent(f ProofFiles, p InclusionProof) (eventstore.Event, error) {
	if f.Event != "" {
		var rec EventRecord
		if err := readJSON(f.Event, &rec); err != nil {
			return eventstore.Event{}, err
		}
		return rec.Event(), nil
	}
	if p.Event == nil {
		return eventstore.Event{}, errors.New("audit: an inclusion proof needs the event: give its file")
	}
	return p.Event.Event(), nil
}

func verifyConsistencyFile(f ProofFiles, cp Checkpoint, pub ed25519.PublicKey) (string, error) {
	var p ConsistencyProof
	if err := readJSON(f.Proof, &p); err != nil {
		return "", err
	}
	if f.OldCheckpoint == "" {
		return "", errors.New("audit: a consistency proof needs the older checkpoint")
	}
	var older Checkpoint
	if err := readJSON(f.OldCheckpoint, &older); err != nil {
		return "", err
	}
	if err := VerifyConsistencyProof(older, cp, pub, p); err != nil {
		return "", err
	}
	return fmt.Sprintf("the log of %d events signed at %s only appended to the log of %d events signed at %s",
		cp.LogSize, cp.Time.Format("2006-01-02 15:04:05Z07:00"), older.LogSize, older.Time.Format("2006-01-02 15:04:05Z07:00")), nil
}

// readJSON reads one JSON file into v.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("audit: %s: %w", path, err)
	}
	return nil
}

// WriteJSONFile writes v as an indented JSON file, the form every file of
// this package takes (checkpoints, proofs, event records).
func WriteJSONFile(path string, v any) error {
	data, err := marshalFile(v)
	if err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	if err != nil {
		return fmt.Errorf("audit: write %s: %w", path, err)
	}
	return nil
}
