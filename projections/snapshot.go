package projections

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// snapshotFile holds the views and, inside the same file, the position and
// hash of the last event they reflect: the checkpoint cannot disagree with
// the state it belongs to.
const snapshotFile = "views.snap"

// snapshotMagic opens a snapshot; a change of the state's layout changes it,
// so an old snapshot is ignored and the views rebuilt from the log.
const snapshotMagic = "ledger-views-v7\n"

// Snapshot writes the views to disk now (Config.Dir must be set).
func (p *Projector) Snapshot() error {
	if p.cfg.Dir == "" {
		return fmt.Errorf("projections: snapshot: no directory configured")
	}
	return p.snapshotNow()
}

func (p *Projector) snapshotNow() error {
	if p.cfg.Dir == "" {
		return nil
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return writeSnapshot(p.cfg.Dir, p.s)
}

// writeSnapshot writes to a temporary file, syncs it and renames it over
// the previous one, so a crash leaves either the old or the new snapshot.
func writeSnapshot(dir string, s *state) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("projections: snapshot dir: %w", err)
	}
	f, err := os.CreateTemp(dir, snapshotFile+".tmp*")
	if err != nil {
		return fmt.Errorf("projections: snapshot: %w", err)
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.WriteString(w, snapshotMagic); err != nil {
		f.Close()
		return fmt.Errorf("projections: snapshot: %w", err)
	}
	if err := gob.NewEncoder(w).Encode(s); err != nil {
		f.Close()
		return fmt.Errorf("projections: snapshot encode: %w", err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("projections: snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("projections: snapshot sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("projections: snapshot: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, snapshotFile)); err != nil {
		return fmt.Errorf("projections: snapshot rename: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("projections: snapshot dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("projections: snapshot dir sync: %w", err)
	}
	return nil
}

// errSnapshotFormat: the file is not a snapshot this code wrote.
var errSnapshotFormat = errors.New("projections: not a snapshot of this version")

// loadSnapshot returns the saved views, or nil when there is none.
func loadSnapshot(dir string) (*state, error) {
	f, err := os.Open(filepath.Join(dir, snapshotFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("projections: open snapshot: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != snapshotMagic {
		return nil, errSnapshotFormat
	}
	s := newState()
	if err := gob.NewDecoder(r).Decode(s); err != nil {
		return nil, fmt.Errorf("projections: decode snapshot: %w", err)
	}
	s.reindex()
	return s, nil
}
