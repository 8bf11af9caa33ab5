// Package audit lets an auditor prove, without trusting the server, that the
// ledger's log is the unaltered history: it re-checks the hash chain the
// stores assign (VerifyChain), keeps an RFC 6962 Merkle tree over the log
// (Tree) with inclusion and consistency proofs, signs checkpoints of the tree
// with the deployment's Ed25519 key (Signer), and writes and checks evidence
// packages that a third party verifies offline (WriteEvidence, VerifyEvidence).
//
// Two commitments cover the log. The chain (eventstore.ChainHash) names the
// first altered, removed, inserted or reordered event, but only by reading the
// whole log up to it. The Merkle tree, whose leaf i is Canonical(event at
// position i+1), gives compact proofs: an event is in the checkpointed log
// (inclusion), and a later checkpoint extends an earlier one (consistency).
// All hashes are SHA-256; they are written as lowercase hex in JSON.
package audit

import (
	"encoding/hex"
	"fmt"
)

// Hash is a SHA-256 digest: a chain hash, a Merkle leaf, node or root.
type Hash [32]byte

// String returns the lowercase hex form.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText writes the lowercase hex form, so JSON carries hashes readably.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText reads the hex form of exactly 32 bytes.
func (h *Hash) UnmarshalText(text []byte) error {
	parsed, err := ParseHash(string(text))
	if err != nil {
		return err
	}
	*h = parsed
	return nil
}

// ParseHash reads the hex form of a hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if hex.DecodedLen(len(s)) != len(h) {
		return Hash{}, fmt.Errorf("audit: hash %q: want %d hex digits", s, 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return Hash{}, fmt.Errorf("audit: hash %q: %w", s, err)
	}
	return h, nil
}
