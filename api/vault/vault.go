// Package vault keeps the keys that make personal data in the log readable,
// outside the log: the log is immutable and can never forget, so personal
// fields are written into it encrypted with a key per person, and
// destroying that key forgets the person (crypto-shredding) while every
// amount stays auditable under the person's pseudonym.
//
// Keys are files under one directory: `pseudonym.key` (the HMAC key that
// turns an ID number into a stable beneficiary id) and `persons/ID.key`, one
// AES-256 key per beneficiary.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/hrss-ledger/ledger/domain"
)

const keyBytes = 32 // AES-256 and HMAC-SHA256 keys

// ErrForgotten: the person's key was destroyed; their personal data is gone.
var ErrForgotten = errors.New("vault: personal data forgotten")

// beneficiaryIDPattern keeps key file names to what Pseudonym produces, so a
// hostile id cannot walk out of the directory.
var beneficiaryIDPattern = regexp.MustCompile(`^[0-9a-f]{16,64}$`)

// Vault holds the keys under one directory.
type Vault struct {
	dir          string
	pseudonymKey []byte
	mu           sync.Mutex // serialises key creation
}

// Open opens (creating if needed) the vault in dir.
func Open(dir string) (*Vault, error) {
	if err := os.MkdirAll(filepath.Join(dir, "persons"), 0o700); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	v := &Vault{dir: dir}
	key, err := v.loadOrCreate(filepath.Join(dir, "pseudonym.key"))
	if err != nil {
		return nil, err
	}
	v.pseudonymKey = key
	return v, nil
}

// Pseudonym returns the stable beneficiary id of an ID number.
func (v *Vault) Pseudonym(idNumber string) string {
	return domain.Pseudonym(v.pseudonymKey, idNumber)
}

// Fingerprint returns a keyed hash of a command's content. Idempotency
// fingerprints sit in the immutable log; a plain hash of a body holding a
// name and an ID number could be confirmed by guessing, a keyed one cannot.
func (v *Vault) Fingerprint(content []byte) string {
	mac := hmac.New(sha256.New, v.pseudonymKey)
	mac.Write([]byte("ledger/fingerprint/v1\x00"))
	mac.Write(content)
	return hex.EncodeToString(mac.Sum(nil))
}

// Seal encrypts a person's personal fields with that person's key, creating
// the key on first use. Refuses once the person has been forgotten.
func (v *Vault) Seal(beneficiaryID string, plain []byte) ([]byte, error) {
	path, err := v.personPath(beneficiaryID)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path + ".forgotten"); err == nil {
		return nil, ErrForgotten
	}
	key, err := v.loadOrCreate(path)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("vault: nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plain, []byte(beneficiaryID)), nil
}

// Open decrypts personal fields; ErrForgotten once the key is destroyed.
func (v *Vault) Open(beneficiaryID string, sealed []byte) ([]byte, error) {
	path, err := v.personPath(beneficiaryID)
	if err != nil {
		return nil, err
	}
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrForgotten
	}
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errors.New("vault: sealed data too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(beneficiaryID))
	if err != nil {
		return nil, fmt.Errorf("vault: decrypt: %w", err)
	}
	return plain, nil
}

// Forget destroys a person's key for good: a tombstone keeps a later Seal
// from minting a new key that would make the person readable again.
func (v *Vault) Forget(beneficiaryID string) error {
	path, err := v.personPath(beneficiaryID)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := writeDurably(path+".forgotten", nil); err != nil {
		return err
	}
	if err := overwriteAndRemove(path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func (v *Vault) personPath(beneficiaryID string) (string, error) {
	if !beneficiaryIDPattern.MatchString(beneficiaryID) {
		return "", fmt.Errorf("vault: malformed beneficiary id %q", beneficiaryID)
	}
	return filepath.Join(v.dir, "persons", beneficiaryID+".key"), nil
}

// loadOrCreate reads a key file, creating it with a fresh random key.
func (v *Vault) loadOrCreate(path string) ([]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != keyBytes {
			return nil, fmt.Errorf("vault: %s: key has %d bytes, want %d", path, len(key), keyBytes)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("vault: %w", err)
	}
	key = make([]byte, keyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("vault: key: %w", err)
	}
	if err := writeDurably(path, key); err != nil {
		return nil, err
	}
	return key, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return cipher.NewGCM(block)
}

// writeDurably writes a file and its directory entry to stable storage
// before returning: a key must not vanish with a crash after data sealed
// with it was acknowledged.
func writeDurably(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("vault: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("vault: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// overwriteAndRemove zeroes a key file before unlinking it, so the key's
// bytes do not linger in the freed blocks of a simple file system.
func overwriteAndRemove(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	_, werr := f.Write(make([]byte, keyBytes))
	serr := f.Sync()
	f.Close()
	if err := errors.Join(werr, serr); err != nil {
		return fmt.Errorf("vault: wipe: %w", err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("vault: sync %s: %w", dir, err)
	}
	return nil
}
