package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestVault(t *testing.T) {
	dir := t.TempDir()
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := v.Pseudonym("11010519491231002X")

	t.Run("the pseudonym is stable across reopening and hides the ID number", func(t *testing.T) {
		again, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := again.Pseudonym("11010519491231002X"); got != id {
			t.Errorf("got %s, want %s", got, id)
		}
		if bytes.Contains([]byte(id), []byte("19491231")) {
			t.Errorf("pseudonym %s contains the birth date", id)
		}
	})

	t.Run("fingerprints are keyed: stable for one vault, different for another", func(t *testing.T) {
		body := []byte(`{"id_number":"11010519491231002X"}`)
		other, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if v.Fingerprint(body) != v.Fingerprint(body) || v.Fingerprint(body) == other.Fingerprint(body) {
			t.Error("a fingerprint must be stable within a vault and depend on its key")
		}
	})

	t.Run("sealed data opens with the person's key and carries no plain text", func(t *testing.T) {
		sealed, err := v.Seal(id, []byte(`{"name":"张三"}`))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, []byte("张三")) {
			t.Fatal("sealed data contains the name in plain text")
		}
		plain, err := v.Open(id, sealed)
		if err != nil || string(plain) != `{"name":"张三"}` {
			t.Errorf("open: got %q, %v", plain, err)
		}
		sealed[len(sealed)-1] ^= 1
		if _, err := v.Open(id, sealed); err == nil {
			t.Error("altered ciphertext opened")
		}
	})

	t.Run("forgetting destroys the key for good", func(t *testing.T) {
		sealed, err := v.Seal(id, []byte("李四"))
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Forget(id); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Open(id, sealed); !errors.Is(err, ErrForgotten) {
			t.Errorf("open after forget: got %v, want ErrForgotten", err)
		}
		if _, err := v.Seal(id, []byte("again")); !errors.Is(err, ErrForgotten) {
			t.Errorf("seal after forget: got %v, want ErrForgotten", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "persons", id+".key")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("key file still exists: %v", err)
		}
	})

	t.Run("a hostile beneficiary id cannot name a file outside the vault", func(t *testing.T) {
		for _, bad := range []string{"../pseudonym", "", "ABC", "0123456789abcdef/../x"} {
			if _, err := v.Seal(bad, []byte("x")); err == nil {
				t.Errorf("seal accepted id %q", bad)
			}
		}
	})
}
