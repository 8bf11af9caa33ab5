package audit

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Format names of the proof files, so a reader can tell them apart and a
// future layout gets a new name.
const (
	InclusionProofFormat   = "hrss-ledger/inclusion-proof/v1"
	ConsistencyProofFormat = "hrss-ledger/consistency-proof/v1"
)

// ErrProof reports a proof that does not hold: wrong tree, wrong event, or
// hashes that do not lead to the checkpoint's root.
var ErrProof = errors.New("audit: proof does not verify")

// InclusionProof shows that the event at Position is in the tree of size
// TreeSize (RFC 6962 section 2.1.1, leaf index Position-1). RootHash and
// LeafHash are what the server computed; a verifier trusts neither and
// recomputes both, from the event and from a signed checkpoint.
type InclusionProof struct {
	Format   string `json:"format"`
	Position uint64 `json:"position"`
	TreeSize uint64 `json:"tree_size"`
	LeafHash Hash   `json:"leaf_hash"`
	RootHash Hash   `json:"root_hash"`
	Hashes   []Hash `json:"hashes"`
	// Event, when the server includes it, is the event proven, so that one
	// file carries both (GET /v1/audit/proof/inclusion adds it).
	Event *EventRecord `json:"event,omitempty"`
}

// ConsistencyProof shows that the tree of size FromSize is a prefix of the
// tree of size ToSize (RFC 6962 section 2.1.2): the later log only appended.
type ConsistencyProof struct {
	Format   string `json:"format"`
	FromSize uint64 `json:"from_size"`
	ToSize   uint64 `json:"to_size"`
	FromRoot Hash   `json:"from_root"`
	ToRoot   Hash   `json:"to_root"`
	Hashes   []Hash `json:"hashes"`
}

// VerifyInclusionProof checks, offline, that leaf (the event's canonical
// encoding, eventstore.Canonical) is at p.Position of the log whose root the
// checkpoint signs. The checkpoint's signature is checked with pub first.
func VerifyInclusionProof(cp Checkpoint, pub ed25519.PublicKey, leaf []byte, p InclusionProof) error {
	if err := VerifyCheckpoint(cp, pub); err != nil {
		return err
	}
	if p.TreeSize != cp.LogSize {
		return fmt.Errorf("%w: proof is for a tree of size %d, checkpoint for size %d", ErrProof, p.TreeSize, cp.LogSize)
	}
	if p.Position == 0 {
		return fmt.Errorf("%w: position 0 is before the first event", ErrProof)
	}
	leafHash := leafHashOf(leaf)
	err := proof.VerifyInclusion(rfc6962.DefaultHasher, p.Position-1, p.TreeSize, leafHash[:], rawHashes(p.Hashes), cp.RootHash[:])
	if err != nil {
		return fmt.Errorf("%w: position %d in size %d: %v", ErrProof, p.Position, p.TreeSize, err)
	}
	return nil
}

// VerifyConsistencyProof checks, offline, that the log signed by newer
// extends the log signed by older without changing any of its events. Both
// signatures are checked with pub.
func VerifyConsistencyProof(older, newer Checkpoint, pub ed25519.PublicKey, p ConsistencyProof) error {
	for _, cp := range []Checkpoint{older, newer} {
		if err := VerifyCheckpoint(cp, pub); err != nil {
			return err
		}
	}
	if p.FromSize != older.LogSize || p.ToSize != newer.LogSize {
		return fmt.Errorf("%w: proof is from size %d to %d, checkpoints are at %d and %d",
			ErrProof, p.FromSize, p.ToSize, older.LogSize, newer.LogSize)
	}
	err := proof.VerifyConsistency(rfc6962.DefaultHasher, p.FromSize, p.ToSize, rawHashes(p.Hashes), older.RootHash[:], newer.RootHash[:])
	if err != nil {
		return fmt.Errorf("%w: size %d to %d: %v", ErrProof, p.FromSize, p.ToSize, err)
	}
	return nil
}

func rawHashes(hashes []Hash) [][]byte {
	raw := make([][]byte, len(hashes))
	for i := range hashes {
		raw[i] = hashes[i][:]
	}
	return raw
}
