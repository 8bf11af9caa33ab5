package projections

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/hrss-ledger/ledger/eventstore"
)

// snapshotFile holds the views and, inside the same file, the position and
// hash of the last event they reflect: the checkpoint cannot disagree with
// the state it belongs to.
const snapshotFile = "views.snap"

// snapshotMagic opens a snapshot; a change of the state's layout changes it,
// so an old snapshot is ignored and the views rebuilt from the log. v9: the
// state is a stream of bounded messages (snapstream.go), its largest lists
// packed (snappack.go), with checksums. v10: loans are numbered (loan.Num).
const snapshotMagic = "ledger-views-v10\n"

// A snapshot is the magic, the body (the message stream) and a trailer of
// the body's length and its CRC-32C, so that a truncated file is refused
// before anything is decoded and a damaged one once its bytes are read.
const (
	snapshotTrailerBytes = 8 + 4
	snapshotBufferBytes  = 1 << 20
	// relaxGCSnapshotBytes: a snapshot this large is loaded under the
	// catch-up's GC settings (runner.go), which keep the heap near the
	// growing views; a small one is not worth the tuning.
	relaxGCSnapshotBytes = 64 << 20
)

// snapshotTable is the CRC-32C table (hardware-accelerated on amd64 and arm64).
var snapshotTable = crc32.MakeTable(crc32.Castagnoli)

// Snapshot writes the views to disk now (Config.Dir must be set). When the
// file already holds exactly these views it is left as it is.
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
	if p.s.onDisk(p.cfg.Dir) {
		return nil
	}
	if err := writeSnapshot(p.cfg.Dir, p.s); err != nil {
		return err
	}
	p.s.saved.Store(p.s.Pos + 1)
	return nil
}

// onDisk reports whether the snapshot in dir was read or written from this
// state at its current position (a restart with nothing new to apply then
// does not rewrite hundreds of megabytes).
func (s *state) onDisk(dir string) bool {
	if s.saved.Load() != s.Pos+1 {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, snapshotFile))
	return err == nil
}

// writeSnapshot writes the file durably (eventstore.WriteFileDurably), so
// a crash leaves either the old or the new snapshot.
func writeSnapshot(dir string, s *state) error {
	if err := s.completeIndexes(); err != nil {
		return fmt.Errorf("projections: no snapshot of misnumbered views: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("projections: snapshot dir: %w", err)
	}
	return eventstore.WriteFileDurably(dir, snapshotFile, func(f io.Writer) error {
		return writeSnapshotTo(f, s)
	})
}

// summer counts and checksums the bytes written through it.
type summer struct {
	w   io.Writer
	crc hash.Hash32
	n   uint64
}

func (s *summer) Write(b []byte) (int, error) {
	n, err := s.w.Write(b)
	s.crc.Write(b[:n])
	s.n += uint64(n)
	return n, err
}

// writeSnapshotTo writes the magic, the body and the trailer.
func writeSnapshotTo(f io.Writer, s *state) error {
	w := bufio.NewWriterSize(f, snapshotBufferBytes)
	if _, err := io.WriteString(w, snapshotMagic); err != nil {
		return fmt.Errorf("projections: snapshot: %w", err)
	}
	body := &summer{w: w, crc: crc32.New(snapshotTable)}
	if err := encodeState(body, s); err != nil {
		return fmt.Errorf("projections: snapshot encode: %w", err)
	}
	var trailer [snapshotTrailerBytes]byte
	binary.LittleEndian.PutUint64(trailer[:8], body.n)
	binary.LittleEndian.PutUint32(trailer[8:], body.crc.Sum32())
	if _, err := w.Write(trailer[:]); err != nil {
		return fmt.Errorf("projections: snapshot: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("projections: snapshot: %w", err)
	}
	return nil
}

// errSnapshotFormat: the file is not a snapshot this code wrote.
var errSnapshotFormat = errors.New("projections: not a snapshot of this version")

// errSnapshotDamaged: the file is one this code wrote, but not as written.
var errSnapshotDamaged = errors.New("projections: snapshot truncated or damaged")

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
	bodyBytes, sum, err := snapshotFrame(f)
	if err != nil {
		return nil, err
	}
	if bodyBytes >= relaxGCSnapshotBytes {
		defer relaxGC()()
	}
	r := bufio.NewReaderSize(f, int(min(bodyBytes+uint64(len(snapshotMagic)), snapshotBufferBytes)))
	if _, err := r.Discard(len(snapshotMagic)); err != nil {
		return nil, fmt.Errorf("projections: read snapshot: %w", err)
	}
	crc := crc32.New(snapshotTable)
	body := io.TeeReader(io.LimitReader(r, int64(bodyBytes)), crc)
	s, err := decodeState(body)
	if err != nil {
		return nil, fmt.Errorf("projections: decode snapshot: %w", errors.Join(errSnapshotDamaged, err))
	}
	// The decoder may stop short of the body's end; the checksum covers it all.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return nil, fmt.Errorf("projections: read snapshot: %w", err)
	}
	if crc.Sum32() != sum {
		return nil, errSnapshotDamaged
	}
	s.saved.Store(s.Pos + 1)
	return s, nil
}

// snapshotFrame checks the magic and that the file is as long as its
// trailer says, and returns the body's length and checksum.
func snapshotFrame(f *os.File) (bodyBytes uint64, sum uint32, err error) {
	info, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("projections: snapshot: %w", err)
	}
	size := info.Size()
	magic := make([]byte, len(snapshotMagic))
	if _, err := f.ReadAt(magic, 0); err != nil || string(magic) != snapshotMagic {
		return 0, 0, errSnapshotFormat
	}
	if size < int64(len(snapshotMagic)+snapshotTrailerBytes) {
		return 0, 0, errSnapshotDamaged
	}
	var trailer [snapshotTrailerBytes]byte
	if _, err := f.ReadAt(trailer[:], size-snapshotTrailerBytes); err != nil {
		return 0, 0, fmt.Errorf("projections: snapshot trailer: %w", err)
	}
	bodyBytes = binary.LittleEndian.Uint64(trailer[:8])
	if bodyBytes != uint64(size)-uint64(len(snapshotMagic)+snapshotTrailerBytes) {
		return 0, 0, errSnapshotDamaged
	}
	return bodyBytes, binary.LittleEndian.Uint32(trailer[8:]), nil
}
