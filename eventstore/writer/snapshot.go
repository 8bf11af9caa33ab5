package writer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
)

// The snapshot file: a header, the ledger in domain's snapshot encoding,
// and a SHA-256 of everything before it.
//
//	magic "LDGRWSNP" | format version uint32 | position uint64 | hash of the event there [32]byte
//	domain.Ledger.WriteTo
//	sha256 [32]byte
//
// It holds no command index: it is written only for a store that answers
// command lookups, and used only when that store knows every command up to
// the snapshot's position (commands.go).
const (
	snapshotFile    = "writer.snapshot"
	snapshotMagic   = "LDGRWSNP"
	snapshotVersion = 1
	headerBytes     = len(snapshotMagic) + 4 + 8 + sha256.Size
	snapshotTimeout = 2 * time.Minute // reading or writing a snapshot of ten million events, with room
	snapshotDirMode = 0o700
)

// Why a snapshot was not used; the writer then replays the whole log.
var (
	errSnapshotChecksum = errors.New("checksum does not match the content")
	errSnapshotFormat   = errors.New("not a snapshot of this format version")
	errSnapshotAhead    = errors.New("position is beyond the log's head")
	errSnapshotFork     = errors.New("the log's event at the position has another hash")
	errSnapshotUnknown  = errors.New("the store does not know every command up to the position")
)

// snapshotHeader is what the file says about the state it holds.
type snapshotHeader struct {
	version  uint32
	position eventstore.Position
	hash     [32]byte
}

func (h snapshotHeader) encode() []byte {
	b := append([]byte(nil), snapshotMagic...)
	b = binary.BigEndian.AppendUint32(b, h.version)
	b = binary.BigEndian.AppendUint64(b, h.position)
	return append(b, h.hash[:]...)
}

func decodeHeader(b []byte) (snapshotHeader, error) {
	if len(b) < headerBytes || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return snapshotHeader{}, errSnapshotFormat
	}
	b = b[len(snapshotMagic):]
	h := snapshotHeader{version: binary.BigEndian.Uint32(b), position: binary.BigEndian.Uint64(b[4:])}
	copy(h.hash[:], b[12:])
	if h.version != snapshotVersion {
		return h, fmt.Errorf("%w: version %d, this build reads %d", errSnapshotFormat, h.version, snapshotVersion)
	}
	return h, nil
}

// restore loads the snapshot, if there is one the log vouches for; any
// other leaves the empty state, to be rebuilt from the whole log.
func (w *Writer) restore(ctx context.Context) {
	if w.cfg.snapshotDir == "" {
		return
	}
	if w.lookup == nil {
		w.cfg.logger.Info("writer: no snapshot: the store does not answer command lookups", "dir", w.cfg.snapshotDir)
		return
	}
	path := filepath.Join(w.cfg.snapshotDir, snapshotFile)
	start := time.Now()
	ledger, head, err := loadSnapshot(ctx, path, w.store, w.lookup)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return
	case err != nil:
		w.cfg.logger.Warn("writer: snapshot not used, replaying the whole log", "path", path, "err", err)
		return
	}
	w.ledger, w.head = ledger, head
	w.visible.Store(head)
	w.snapshotAt.Store(head)
	w.cfg.logger.Info("writer: state read from snapshot", "path", path, "position", head, "took", time.Since(start).Round(time.Millisecond))
}

// loadSnapshot reads and checks a snapshot file: its checksum, format,
// and that the log holds, at its position, the event it was taken after.
func loadSnapshot(ctx context.Context, path string, store eventstore.Store, lookup eventstore.CommandLookup) (*domain.Ledger, eventstore.Position, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	size, err := checkedSize(f)
	if err != nil {
		return nil, 0, err
	}
	header := make([]byte, headerBytes)
	if _, err := f.ReadAt(header, 0); err != nil {
		return nil, 0, fmt.Errorf("read: %w", err)
	}
	h, err := decodeHeader(header)
	if err != nil {
		return nil, 0, err
	}
	if err := vouch(ctx, store, h); err != nil {
		return nil, 0, err
	}
	if known := lookup.CommandsKnown(); known < h.position {
		return nil, 0, fmt.Errorf("%w: it knows up to %d, the snapshot is at %d", errSnapshotUnknown, known, h.position)
	}
	// A SectionReader tells ReadLedger its size, to size the tables at once.
	ledger, err := domain.ReadLedger(io.NewSectionReader(f, int64(headerBytes), size-int64(headerBytes)))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", errSnapshotFormat, err)
	}
	return ledger, h.position, nil
}

// checkedSize verifies the file's checksum and returns the size of the
// content before it. The file is read twice, the second time from the page
// cache: only content known intact is decoded.
func checkedSize(f *os.File) (int64, error) {
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := info.Size() - sha256.Size
	if size < int64(headerBytes) {
		return 0, errSnapshotFormat
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, io.NewSectionReader(f, 0, size)); err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	want := make([]byte, sha256.Size)
	if _, err := f.ReadAt(want, size); err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	if !bytes.Equal(sum.Sum(nil), want) {
		return 0, errSnapshotChecksum
	}
	return size, nil
}

// vouch checks that the log's event at the snapshot's position has the hash
// the snapshot recorded: the same log, not another one of the same length.
func vouch(ctx context.Context, store eventstore.Store, h snapshotHeader) error {
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	head, err := store.Head(ctx)
	if err != nil {
		return fmt.Errorf("log head: %w", err)
	}
	if h.position == 0 || h.position > head {
		return fmt.Errorf("%w: position %d, head %d", errSnapshotAhead, h.position, head)
	}
	hash, err := hashAt(ctx, store, h.position)
	if err != nil {
		return err
	}
	if hash != h.hash {
		return fmt.Errorf("%w: position %d", errSnapshotFork, h.position)
	}
	return nil
}

// hashAt returns the hash of the event at position p.
func hashAt(ctx context.Context, store eventstore.Store, p eventstore.Position) ([32]byte, error) {
	e, ok, err := eventstore.EventAt(ctx, store, p)
	switch {
	case err != nil:
		return [32]byte{}, fmt.Errorf("read position %d: %w", p, err)
	case !ok:
		return [32]byte{}, fmt.Errorf("%w: no event at position %d", errSnapshotAhead, p)
	}
	return e.Hash, nil
}

// saveSnapshot writes the state's snapshot, after the sequencer stopped.
func (w *Writer) saveSnapshot() error {
	if w.cfg.snapshotDir == "" || w.lookup == nil || w.head == 0 {
		return nil
	}
	if w.snapshotAt.Load() == w.head {
		// The file holds this very state (a Close right after the open's
		// snapshot, or with nothing appended since the last one).
		if _, err := os.Stat(filepath.Join(w.cfg.snapshotDir, snapshotFile)); err == nil {
			return nil
		}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), snapshotTimeout)
	defer cancel()
	hash, err := hashAt(ctx, w.store, w.head)
	if err != nil {
		return fmt.Errorf("writer: snapshot: %w", err)
	}
	h := snapshotHeader{version: snapshotVersion, position: w.head, hash: hash}
	w.snapshotMu.Lock()
	defer w.snapshotMu.Unlock()
	if err := writeSnapshot(w.cfg.snapshotDir, h, w.ledger); err != nil {
		return fmt.Errorf("writer: snapshot: %w", err)
	}
	w.snapshotAt.Store(w.head)
	w.cfg.logger.Info("writer: snapshot written", "dir", w.cfg.snapshotDir, "position", w.head, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// writeSnapshot writes the file durably (eventstore.WriteFileDurably): a
// crash leaves the old or the new snapshot whole, never a torn one.
func writeSnapshot(dir string, h snapshotHeader, ledger *domain.Ledger) error {
	if err := os.MkdirAll(dir, snapshotDirMode); err != nil {
		return err
	}
	return eventstore.WriteFileDurably(dir, snapshotFile, func(f io.Writer) error {
		sum := sha256.New()
		out := bufio.NewWriterSize(io.MultiWriter(f, sum), 1<<20)
		if _, err := out.Write(h.encode()); err != nil {
			return err
		}
		if _, err := ledger.WriteTo(out); err != nil {
			return err
		}
		if err := out.Flush(); err != nil {
			return err
		}
		_, err := f.Write(sum.Sum(nil))
		return err
	})
}
