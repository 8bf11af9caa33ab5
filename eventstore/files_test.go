package eventstore_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hrss-ledger/ledger/eventstore"
)

func TestWriteFileDurably(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.snap")
	put := func(content string) error {
		return eventstore.WriteFileDurably(dir, "state.snap", func(w io.Writer) error {
			_, err := io.WriteString(w, content)
			return err
		})
	}
	read := func() string {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	t.Run("a new file holds what was written", func(t *testing.T) {
		if err := put("first"); err != nil {
			t.Fatal(err)
		}
		if got := read(); got != "first" {
			t.Errorf("got %q, want first", got)
		}
	})
	t.Run("a second write replaces the file whole", func(t *testing.T) {
		if err := put("second, longer"); err != nil {
			t.Fatal(err)
		}
		if got := read(); got != "second, longer" {
			t.Errorf("got %q, want the second content", got)
		}
	})
	t.Run("a failed write leaves the old file and no temporary file", func(t *testing.T) {
		broken := errors.New("disk on fire")
		err := eventstore.WriteFileDurably(dir, "state.snap", func(w io.Writer) error {
			io.WriteString(w, "half")
			return broken
		})
		if !errors.Is(err, broken) {
			t.Fatalf("got %v, want it to wrap %v", err, broken)
		}
		if got := read(); got != "second, longer" {
			t.Errorf("got %q, want the old content", got)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("got %d files in the directory, want only the snapshot", len(entries))
		}
	})
	t.Run("a missing directory is an error", func(t *testing.T) {
		err := eventstore.WriteFileDurably(filepath.Join(dir, "absent"), "x", func(io.Writer) error { return nil })
		if err == nil {
			t.Error("got no error")
		}
	})
}
