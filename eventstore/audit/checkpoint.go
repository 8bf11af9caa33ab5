package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Key files under the data directory. The private key never leaves it; the
// public key is what auditors are given (out of band) to check checkpoints.
const (
	PrivateKeyFile = "audit.key" // PKCS #8 PEM, mode 0600
	PublicKeyFile  = "audit.pub" // PKIX PEM
)

// checkpointTag opens the signed text of every checkpoint, so a signature
// over it cannot be replayed as a signature over anything else.
const checkpointTag = "hrss-ledger/checkpoint/v1"

// CheckpointEventType is the wire name of the event that records a
// checkpoint in the log at a day or period close; its data is the
// checkpoint's JSON (CheckpointBody).
const CheckpointEventType = "audit.checkpoint.v1"

// CheckpointStream is the stream the checkpoint events belong to.
const CheckpointStream = "audit-checkpoints"

// ErrBadSignature reports a checkpoint whose signature does not verify with
// the given key, or signed by another key.
var ErrBadSignature = errors.New("audit: checkpoint signature does not verify")

// Checkpoint is a signed statement of the log's Merkle root at a size: the
// first LogSize events (positions 1..LogSize) have root RootHash.
type Checkpoint struct {
	LogSize   uint64    `json:"log_size"`
	RootHash  Hash      `json:"root_hash"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"` // Ed25519 over SignedText, base64 in JSON
}

// SignedText is the exact text the signature covers, one field a line:
//
//	hrss-ledger/checkpoint/v1
//	<log_size, decimal>
//	<root_hash, lowercase hex>
//	<time, RFC 3339 with nanoseconds, UTC>
//	<key_id>
//
// each line ending in "\n". Anyone can rebuild it from the JSON.
func (c Checkpoint) SignedText() []byte {
	b := make([]byte, 0, 160)
	b = append(b, checkpointTag+"\n"...)
	b = strconv.AppendUint(b, c.LogSize, 10)
	b = append(b, '\n')
	b = append(b, c.RootHash.String()+"\n"...)
	b = append(b, c.Time.UTC().Format(time.RFC3339Nano)+"\n"...)
	b = append(b, c.KeyID+"\n"...)
	return b
}

// VerifyCheckpoint checks the checkpoint's signature with the deployment's
// public key. It is all an auditor needs to trust a root.
func VerifyCheckpoint(c Checkpoint, pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("audit: public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if c.KeyID != KeyID(pub) {
		return fmt.Errorf("%w: signed by key %q, checking with key %q", ErrBadSignature, c.KeyID, KeyID(pub))
	}
	if !ed25519.Verify(pub, c.SignedText(), c.Signature) {
		return fmt.Errorf("%w: checkpoint at size %d", ErrBadSignature, c.LogSize)
	}
	return nil
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex. It lets
// a verifier holding several keys (after a rotation) pick the right one.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Signer signs checkpoints with the deployment's key.
type Signer struct {
	key ed25519.PrivateKey
	id  string
}

// NewSigner wraps a private key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	pub := key.Public().(ed25519.PublicKey)
	return &Signer{key: key, id: KeyID(pub)}
}

// PublicKey returns the key auditors verify with.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// KeyID returns the key's id, as checkpoints carry it.
func (s *Signer) KeyID() string { return s.id }

// Sign signs the root of the first size events. The time is kept to the
// second, in UTC, so that its text form is short and stable.
func (s *Signer) Sign(size uint64, root Hash, at time.Time) Checkpoint {
	c := Checkpoint{LogSize: size, RootHash: root, Time: at.UTC().Truncate(time.Second), KeyID: s.id}
	c.Signature = ed25519.Sign(s.key, c.SignedText())
	return c
}

// Checkpoint signs the tree's current root.
func (s *Signer) Checkpoint(t *Tree, at time.Time) Checkpoint {
	size, root := t.head()
	return s.Sign(size, root, at)
}

// LoadOrCreateSigner reads the deployment key from dir/audit.key, creating
// it on first use, and exports its public key to dir/audit.pub. The key file
// appears atomically (a hard link of a complete file), so two servers
// starting on one data directory end up with the same key.
func LoadOrCreateSigner(dir string) (*Signer, error) {
	path := filepath.Join(dir, PrivateKeyFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := createKey(dir); err != nil {
			return nil, err
		}
	}
	s, err := readSigner(path)
	if err != nil {
		return nil, err
	}
	if err := exportPublicKey(filepath.Join(dir, PublicKeyFile), s.PublicKey()); err != nil {
		return nil, err
	}
	return s, nil
}

func readSigner(path string) (*Signer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: read key: %w", err)
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit: %s: not a PEM private key", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", path, err)
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit: %s: not an Ed25519 key", path)
	}
	return NewSigner(key), nil
}

// createKey writes a new key to a temporary file and links it into place;
// losing the race to another process is not an error.
func createKey(dir string) error {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("audit: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("audit: encode key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("audit: key directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, PrivateKeyFile+".*")
	if err != nil {
		return fmt.Errorf("audit: create key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSynced(tmp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return err
	}
	err = os.Link(tmp.Name(), filepath.Join(dir, PrivateKeyFile))
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("audit: install key: %w", err)
	}
	return nil
}

func writeSynced(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("audit: write %s: %w", f.Name(), err)
	}
	return nil
}

// exportPublicKey writes the public key unless the file already holds it.
func exportPublicKey(path string, pub ed25519.PublicKey) error {
	if have, err := ReadPublicKey(path); err == nil && have.Equal(pub) {
		return nil
	}
	return WritePublicKey(path, pub)
}

// WritePublicKey exports a public key as PKIX PEM, the form ReadPublicKey
// and openssl read.
func WritePublicKey(path string, pub ed25519.PublicKey) error {
	data, err := encodePublicKey(pub)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("audit: write public key: %w", err)
	}
	return nil
}

func encodePublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("audit: encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ReadPublicKey reads a public key exported by WritePublicKey.
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: read public key: %w", err)
	}
	return ParsePublicKey(raw)
}

// ParsePublicKey reads a PKIX PEM Ed25519 public key.
func ParsePublicKey(raw []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("audit: not a PEM public key")
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: public key: %w", err)
	}
	pub, ok := parsed.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("audit: public key is not Ed25519")
	}
	return pub, nil
}
