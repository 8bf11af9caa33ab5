package audit_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/eventstore/audit"
)

var closeOfDay = time.Date(2017, 3, 31, 16, 0, 0, 0, time.UTC)

func newSigner(t testing.TB) *audit.Signer {
	t.Helper()
	s, err := audit.LoadOrCreateSigner(t.TempDir())
	if err != nil {
		t.Fatalf("LoadOrCreateSigner: %v", err)
	}
	return s
}

func TestSignerKeepsOneKeyPerDataDirectory(t *testing.T) {
	dir := t.TempDir()
	first, err := audit.LoadOrCreateSigner(dir)
	if err != nil {
		t.Fatalf("first LoadOrCreateSigner: %v", err)
	}
	second, err := audit.LoadOrCreateSigner(dir)
	if err != nil {
		t.Fatalf("second LoadOrCreateSigner: %v", err)
	}
	if !first.PublicKey().Equal(second.PublicKey()) {
		t.Errorf("reopening the data directory changed the key")
	}
	exported, err := audit.ReadPublicKey(filepath.Join(dir, audit.PublicKeyFile))
	if err != nil {
		t.Fatalf("ReadPublicKey: %v", err)
	}
	if !exported.Equal(first.PublicKey()) {
		t.Errorf("audit.pub holds another key than audit.key")
	}
	info, err := os.Stat(filepath.Join(dir, audit.PrivateKeyFile))
	if err != nil {
		t.Fatalf("stat key: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("audit.key mode %v, want 0600", got)
	}
}

func TestCheckpointSignatures(t *testing.T) {
	signer := newSigner(t)
	tree := buildTree(t, memoryLog(t, 20))
	good := signer.Checkpoint(tree, closeOfDay)
	other := newSigner(t)
	tests := []struct {
		name   string
		change func(c *audit.Checkpoint)
		key    ed25519.PublicKey
		want   error
	}{
		{"an untouched checkpoint verifies", func(*audit.Checkpoint) {}, signer.PublicKey(), nil},
		{"a changed size does not verify", func(c *audit.Checkpoint) { c.LogSize-- }, signer.PublicKey(), audit.ErrBadSignature},
		{"a changed root does not verify", func(c *audit.Checkpoint) { c.RootHash[0] ^= 1 }, signer.PublicKey(), audit.ErrBadSignature},
		{"a changed time does not verify", func(c *audit.Checkpoint) { c.Time = c.Time.Add(time.Second) }, signer.PublicKey(), audit.ErrBadSignature},
		{"another deployment's key does not verify", func(*audit.Checkpoint) {}, other.PublicKey(), audit.ErrBadSignature},
		{"a signature relabelled with the other key's id does not verify", func(c *audit.Checkpoint) { c.KeyID = other.KeyID() }, other.PublicKey(), audit.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			if err := audit.VerifyCheckpoint(c, tt.key); !errors.Is(err, tt.want) {
				t.Errorf("VerifyCheckpoint = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckpointSurvivesItsJSONForm(t *testing.T) {
	signer := newSigner(t)
	tree := buildTree(t, memoryLog(t, 5))
	cp := signer.Checkpoint(tree, closeOfDay.In(time.FixedZone("CST", 8*3600)))
	raw, err := json.Marshal(cp)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var back audit.Checkpoint
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if err := audit.VerifyCheckpoint(back, signer.PublicKey()); err != nil {
		t.Errorf("checkpoint read back from %s does not verify: %v", raw, err)
	}
}
