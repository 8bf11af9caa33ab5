package eventstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFileDurably replaces dir/name with what write writes, so that a
// crash at any moment leaves the old file or the new one whole, never a
// torn one: write fills a temporary file in dir, which is synced, renamed
// over name, and the rename made durable by syncing dir. The snapshots of
// the store's indexes, the writer's state and the views are saved this way.
// dir must exist. On error the old file is left as it was.
func WriteFileDurably(dir, name string, write func(io.Writer) error) (err error) {
	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return fmt.Errorf("eventstore: write %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("eventstore: write %s: %w", name, err)
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
