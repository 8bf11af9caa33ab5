package projections

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
)

// Sealed segments: the log in a form made for rebuilding the views. Every
// segmentEvents events, the projector writes what the views read of them
// (the envelope, and the event in domain's binary form) to one file of its
// sealed directory; a later rebuild from position 0 (a new version of the
// views, a lost snapshot) reads those files instead of decoding the JSON,
// then the log past the last of them.
//
// The segment being written is also kept as a partial file (partialName)
// of its whole runs, rewritten at the end of each catch-up and when the
// views stop: a rebuild reads it after the last segment, so that only the
// events since then come from the log. Sealing the segment whole deletes it.
//
// The log stays the truth. A segment is derived from events the views
// applied, which the store had verified against the hash chain. It is
// checked when read: its CRC-32C against damage, its header against the
// positions it should hold, and the hash it recorded for its last event
// against the log's (eventstore.EventAt), which by the chain vouches that
// the log's events up to there are the ones it was made from; a segment
// that fails is deleted with those after it, and the rebuild reads the log
// from there, writing them again. Like the snapshot, it guards against
// damage, not against someone who may rewrite the projector's files: an
// audit (ledger verify) reads the log, never a segment.
//
// A segment file, named by its first position:
//
//	magic    segmentMagic, then the binary form's version (one byte)
//	first    uvarint: the first position
//	count    uvarint: segmentEvents (a multiple of decodeBatchEvents); in
//	         a partial file fewer, a multiple of decodeBatchEvents
//	count times:
//	  type   a string of the segment's table (domain.BinaryWriter)
//	  id     16 bytes
//	  day    varint: the business day (day)
//	  body   one byte: 1 when the event follows in the binary form
//	  hints  one byte n ≤ 4, then n uvarints: the numbers of the accounts
//	         its postings moved money between; then two uvarints: its
//	         person's number + 1 and its loan's, or 0 (eventHints). The
//	         rebuild checks them and uses them instead of looking them up
//	  hash   32 bytes, after each decodeBatchEvents-th position only: a
//	         rebuild applies the segment in those runs, and the views
//	         keep the hash of a run's last event (the snapshot's checkpoint)
//	crc      4 bytes little-endian: CRC-32C of all that precedes
const (
	sealedDirName  = "sealed"
	segmentMagic   = "ledger-sealed-v4\n"
	segmentEvents  = 128 * decodeBatchEvents
	segmentCRCSize = 4
	segmentIDSize  = 16
	segmentHash    = 32
	// sealedQueue is how many decoded runs of segments wait for the views.
	sealedQueue = 8
)

// errSegment: a segment file that cannot be used.
var errSegment = errors.New("projections: sealed segment unusable")

// segmentName is the file of the segment beginning at position first.
func segmentName(first uint64) string { return fmt.Sprintf("%016d"+segmentSuffix, first) }

// partialName is the file of the first runs of the segment beginning at
// first, written at the end of a catch-up and when the views stop, so that
// a later rebuild reads from the log only what came after (sealer.writePartial).
func partialName(first uint64) string { return fmt.Sprintf("%016d.partial", first) }

// segmentSuffix ends the name of every segment file.
const segmentSuffix = ".seg"

// sealer writes the events the views apply into segments. It takes the
// events of a segment from its first position on, and writes the segment
// only when it saw all of it in order; one already on disk is not written
// again. It holds the events it takes (add) until their persons are known:
// the covers lane numbers them after the main lane has handed them over
// (notePersons), and the catch-up settles the sealer, which writes them,
// once that lane has caught up.
type sealer struct {
	dir  string
	size uint64 // events per segment: segmentEvents, fewer in tests
	log  *slog.Logger
	// next is the position add expects next; 0 while it waits for the
	// start of a segment to write.
	next    uint64
	pending []decoded // events taken and not yet written, the last at next-1
	// The segment being written: its first position (0: none), its table
	// and its bytes so far.
	first uint64
	w     *domain.BinaryWriter
	buf   []byte
	// head is where the events begin in buf; cut is where the last whole
	// run ends, after cutEvents events (a partial segment's end); the
	// partial file last written holds partialEvents.
	head, cut                int
	cutEvents, partialEvents uint64
}

func newSealer(dir string, log *slog.Logger) *sealer {
	return &sealer{dir: dir, size: segmentEvents, log: log, w: domain.NewBinaryWriter()}
}

// firstOf is the first position of the segment holding position pos.
func (sl *sealer) firstOf(pos uint64) uint64 { return (pos-1)/sl.size*sl.size + 1 }

// add takes copies of the events just applied, in log order.
func (sl *sealer) add(batch []decoded) {
	for i := range batch {
		d := &batch[i]
		pos := d.env.Pos
		if sl.next != 0 && pos != sl.next {
			sl.drop() // a gap: this segment cannot be sealed
		}
		if pos == sl.firstOf(pos) {
			sl.next = 0
			if _, err := os.Stat(filepath.Join(sl.dir, segmentName(pos))); errors.Is(err, os.ErrNotExist) {
				sl.next = pos
			}
		}
		if sl.next == 0 {
			continue
		}
		sl.pending = append(sl.pending, *d)
		sl.next++
	}
}

// notePersons records the persons the covers lane found for events taken.
func (sl *sealer) notePersons(events []coverEvent) {
	for i := range events {
		pos := events[i].pos
		if pos >= sl.next {
			continue // not taken (sl.next is 0, or the lane's batch is past it)
		}
		if at := len(sl.pending) - int(sl.next-pos); at >= 0 {
			sl.pending[at].hints.person = events[i].person + 1
		}
	}
}

// settle writes the events taken, sealing each segment once it is whole.
// Every event taken must have been applied in full by then.
func (sl *sealer) settle() {
	for i := range sl.pending {
		d := &sl.pending[i]
		if pos := d.env.Pos; pos == sl.firstOf(pos) {
			sl.begin(pos)
		}
		if sl.first == 0 {
			continue
		}
		if err := sl.append(d); err != nil {
			sl.log.Warn("projections: segment not sealed", "first", sl.first, "err", err)
			sl.first = 0
			continue
		}
		if d.env.Pos == sl.first+sl.size-1 {
			sl.seal()
		}
	}
	clear(sl.pending) // drops the references to the events
	sl.pending = sl.pending[:0]
}

// drop abandons the segment being taken and written.
func (sl *sealer) drop() {
	sl.next, sl.first = 0, 0
	clear(sl.pending)
	sl.pending = sl.pending[:0]
}

// begin starts writing the segment that begins at pos.
func (sl *sealer) begin(pos uint64) {
	sl.first = pos
	sl.w.Reset()
	sl.buf = append(sl.buf[:0], segmentMagic...)
	sl.buf = append(sl.buf, domain.BinaryVersion)
	sl.buf = binary.AppendUvarint(sl.buf, pos)
	sl.buf = binary.AppendUvarint(sl.buf, sl.size)
	sl.head, sl.cut, sl.cutEvents, sl.partialEvents = len(sl.buf), 0, 0, 0
}

// append writes one event.
func (sl *sealer) append(d *decoded) error {
	sl.buf = sl.w.AppendString(sl.buf, d.env.Type)
	sl.buf = append(sl.buf, d.env.ID[:]...)
	sl.buf = binary.AppendVarint(sl.buf, int64(d.env.Day))
	if d.ev == nil {
		sl.buf = append(sl.buf, 0)
	} else {
		var err error
		if sl.buf, err = sl.w.AppendEvent(append(sl.buf, 1), d.ev); err != nil {
			return err
		}
	}
	accounts := d.hints.accounts[:]
	for len(accounts) > 0 && accounts[len(accounts)-1] == 0 {
		accounts = accounts[:len(accounts)-1]
	}
	sl.buf = append(sl.buf, byte(len(accounts)))
	for _, h := range accounts {
		sl.buf = binary.AppendUvarint(sl.buf, uint64(h))
	}
	sl.buf = binary.AppendUvarint(sl.buf, uint64(d.hints.person))
	sl.buf = binary.AppendUvarint(sl.buf, uint64(d.hints.loan))
	if d.env.Pos%decodeBatchEvents == 0 {
		sl.buf = append(sl.buf, d.env.Hash[:]...)
		sl.cut, sl.cutEvents = len(sl.buf), d.env.Pos-sl.first+1
	}
	return nil
}

// seal writes the finished segment. A segment is derived data, written
// without fsync: one lost or torn in a crash fails its check and is
// written again.
func (sl *sealer) seal() {
	first := sl.first
	sl.first = 0
	sl.buf = binary.LittleEndian.AppendUint32(sl.buf, crc32.Checksum(sl.buf, snapshotTable))
	if sl.write(segmentName(first), sl.buf) {
		os.Remove(filepath.Join(sl.dir, partialName(first))) // read the whole one from now on
	}
}

// writePartial writes the whole runs of the segment being written, if any
// and unless its partial file holds them already (a start ends several
// catch-ups in a row), as its partial file: the header's count is theirs.
func (sl *sealer) writePartial() {
	if sl.first == 0 || sl.cutEvents == 0 || sl.cutEvents == sl.partialEvents {
		return
	}
	out := append([]byte(nil), sl.buf[:len(segmentMagic)+1]...)
	out = binary.AppendUvarint(out, sl.first)
	out = binary.AppendUvarint(out, sl.cutEvents)
	out = append(out, sl.buf[sl.head:sl.cut]...)
	out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, snapshotTable))
	if sl.write(partialName(sl.first), out) {
		sl.partialEvents = sl.cutEvents
	}
}

// write replaces the file name in the sealed directory with data, and
// reports whether it did.
func (sl *sealer) write(name string, data []byte) bool {
	if err := os.MkdirAll(sl.dir, 0o755); err != nil {
		sl.log.Warn("projections: segment not sealed", "file", name, "err", err)
		return false
	}
	tmp := filepath.Join(sl.dir, name+".tmp")
	err := os.WriteFile(tmp, data, 0o644)
	if err == nil {
		err = os.Rename(tmp, filepath.Join(sl.dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		sl.log.Warn("projections: segment not sealed", "file", name, "err", err)
		return false
	}
	return true
}

// catchUpSealed applies the sealed segments from the one holding the
// position after the views' on, as far as they go and pass their checks.
// Decoding runs on its own goroutine while c applies, run by run.
func (p *Projector) catchUpSealed(ctx context.Context, r Reader, c *catchUp) error {
	if p.sealer == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runs, free := make(chan []decoded, sealedQueue), make(chan []decoded, sealedQueue+2)
	readErr := make(chan error, 1)
	go func() {
		defer close(runs)
		readErr <- p.readSegments(ctx, r, p.Position(), runs, free)
	}()
	var applyErr error
	applied := 0
	for run := range runs {
		if applyErr == nil {
			if applyErr = c.apply(run); applyErr != nil {
				cancel()
			}
			applied += len(run)
		}
		clear(run)
		select {
		case free <- run[:0]:
		default:
		}
	}
	if applied > 0 {
		p.log.Info("projections: applied sealed segments", "events", applied, "position", p.s.Pos)
	}
	if err := <-readErr; applyErr == nil && err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return applyErr
}

// sealPartial writes the partial file of the segment being sealed, so
// that a later rebuild reads from the log only the events after its whole
// runs (sealer.writePartial): at the end of a catch-up and when the views stop.
func (p *Projector) sealPartial() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.writePartialLocked()
}

// writePartialLocked is sealPartial for a caller that holds the write lock.
func (p *Projector) writePartialLocked() {
	if p.sealer != nil {
		p.sealer.writePartial()
	}
}

// checkNumbering completes the indexes after sealed segments were
// applied. If a segment opened a name twice (index.go), its numbers were
// another state's: the views start again from position 0, and the
// segments are dropped, to be written again from the log.
func (p *Projector) checkNumbering() {
	p.mu.Lock()
	err := p.s.completeIndexes()
	if err != nil {
		dirty := p.s.dirty
		p.s = newState()
		p.s.dirty = dirty
	}
	p.mu.Unlock()
	if err != nil {
		p.log.Warn("projections: sealed segments dropped; rebuilding from the log", "err", err)
		p.dropSegments(p.sealer.firstOf(1))
	}
}

// readSegments decodes the segments from the one holding position after+1
// into runs for the views, and after the last of them the partial file of
// the next, if any.
func (p *Projector) readSegments(ctx context.Context, r Reader, after uint64, runs chan<- []decoded, free chan []decoded) error {
	var sr segmentReader
	sl := p.sealer
	for first := sl.firstOf(after + 1); ; first += sl.size {
		name, partial := segmentName(first), false
		// Read afresh for each segment, never reused: the events' texts
		// share its bytes (domain.BinaryReader.ResetShared).
		data, err := os.ReadFile(filepath.Join(sl.dir, name))
		if errors.Is(err, os.ErrNotExist) {
			name, partial = partialName(first), true
			data, err = os.ReadFile(filepath.Join(sl.dir, name))
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		var n uint64
		if err == nil {
			n, err = p.checkSegment(ctx, r, first, data, partial)
		}
		if err == nil {
			sr.reset(data[len(segmentMagic)+1 : len(data)-segmentCRCSize])
			err = sr.decode(ctx, first, n, runs, free)
		}
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil && partial:
			p.log.Warn("projections: partial segment dropped; reading the log from there", "file", name, "err", err)
			os.Remove(filepath.Join(sl.dir, name))
			return nil
		case err != nil:
			p.log.Warn("projections: sealed segments dropped; reading the log from there", "first", first, "err", err)
			p.dropSegments(first)
			return nil
		case partial:
			return nil // the log goes on from there
		}
	}
}

// nextSegment returns the first position of the first segment in the
// sealed directory that begins after position pos+1.
func (p *Projector) nextSegment(pos uint64) (uint64, bool) {
	if p.sealer == nil {
		return 0, false
	}
	entries, err := os.ReadDir(p.sealer.dir)
	if err != nil {
		return 0, false
	}
	var next uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentSuffix)
		first, err := strconv.ParseUint(name, 10, 64)
		if ok && err == nil && first > pos+1 && (next == 0 || first < next) {
			next = first
		}
	}
	return next, next != 0
}

// boundedLog is a log read no further than position last.
type boundedLog struct {
	r    Reader
	last uint64
}

// errPastBound stops a read of a boundedLog.
var errPastBound = errors.New("projections: read past the bound")

func (b boundedLog) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	return b.ReadBatches(ctx, after, func(run []eventstore.Event) error {
		for _, e := range run {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadBatches reads through the log's bounded read when it has one
// (eventstore.RangeReader), else through its read stopped past last.
func (b boundedLog) ReadBatches(ctx context.Context, after eventstore.Position, fn func([]eventstore.Event) error) error {
	if after >= b.last {
		return nil
	}
	bounded := func(run []eventstore.Event) error {
		n := 0
		for n < len(run) && run[n].Position <= b.last {
			n++
		}
		if n > 0 {
			if err := fn(run[:n]); err != nil {
				return err
			}
		}
		if n < len(run) || (n > 0 && run[n-1].Position == b.last) {
			return errPastBound
		}
		return nil
	}
	var err error
	if rr, ok := b.r.(eventstore.RangeReader); ok {
		err = rr.ReadRange(ctx, after, b.last, bounded)
	} else {
		err = eventstore.ReadBatches(ctx, b.r, after, bounded)
	}
	if errors.Is(err, errPastBound) {
		return nil
	}
	return err
}

// checkSegment checks a segment's checksum, header and last hash, and
// returns its count of events: the segments' size, or for a partial one
// fewer, whole runs.
func (p *Projector) checkSegment(ctx context.Context, r Reader, first uint64, data []byte, partial bool) (uint64, error) {
	head := len(segmentMagic) + 1
	if len(data) < head+segmentCRCSize || !bytes.HasPrefix(data, []byte(segmentMagic)) || data[head-1] != domain.BinaryVersion {
		return 0, fmt.Errorf("%w: not a segment of this version", errSegment)
	}
	body, sum := data[:len(data)-segmentCRCSize], data[len(data)-segmentCRCSize:]
	if crc32.Checksum(body, snapshotTable) != binary.LittleEndian.Uint32(sum) {
		return 0, fmt.Errorf("%w: checksum", errSegment)
	}
	var br domain.BinaryReader
	br.Reset(body[head:])
	got, n := br.Uvarint(), br.Uvarint()
	size := p.sealer.size
	if br.Err() != nil || got != first || (!partial && n != size) ||
		(partial && (n == 0 || n >= size || n%decodeBatchEvents != 0)) {
		return 0, fmt.Errorf("%w: header", errSegment)
	}
	if len(body) < segmentHash {
		return 0, fmt.Errorf("%w: too short", errSegment)
	}
	last := first + n - 1
	e, ok, err := eventstore.EventAt(ctx, r, last)
	switch {
	case err != nil:
		return 0, fmt.Errorf("projections: check segment at %d: %w", last, err)
	case !ok:
		return 0, fmt.Errorf("%w: the log ends before %d", errSegment, last)
	case !bytes.Equal(e.Hash[:], body[len(body)-segmentHash:]):
		return 0, fmt.Errorf("%w: the log's event %d has another hash", errSegment, last)
	}
	return n, nil
}

// segmentReader decodes segments, one after the other.
type segmentReader struct {
	br domain.BinaryReader
	// types holds what is derived from each event type met in the
	// segment, by its number in the segment's table.
	types []sealedType
}

// sealedType is what decoding derives from an event's type.
type sealedType struct {
	name     string
	code     uint8
	business bool
	reads    bool
}

// reset starts on a checked segment's body, whose bytes the texts of the
// events read from it share: the views clone the few they keep (loan ids,
// borrowers, documents, ids that do not pack).
func (sr *segmentReader) reset(body []byte) {
	sr.br.ResetShared(body)
	sr.br.Uvarint() // first and count, checked already
	sr.br.Uvarint()
	sr.types = sr.types[:0]
}

// decode decodes the segment's events into runs.
func (sr *segmentReader) decode(ctx context.Context, first, size uint64, runs chan<- []decoded, free chan []decoded) error {
	var run []decoded
	for pos := first; pos < first+size; pos++ {
		if run == nil {
			select {
			case run = <-free:
			default:
				run = make([]decoded, 0, decodeBatchEvents)
			}
		}
		run = append(run, decoded{})
		if err := sr.event(pos, &run[len(run)-1]); err != nil {
			return fmt.Errorf("%w: event %d: %w", errSegment, pos, err)
		}
		if len(run) == decodeBatchEvents {
			select {
			case runs <- run:
			case <-ctx.Done():
				return ctx.Err()
			}
			run = nil
		}
	}
	if sr.br.Len() != 0 {
		return fmt.Errorf("%w: %d bytes after the events", errSegment, sr.br.Len())
	}
	return nil
}

// eventType reads an event's type.
func (sr *segmentReader) eventType() sealedType {
	name, n := sr.br.ReadString()
	if sr.br.Err() != nil {
		return sealedType{}
	}
	for len(sr.types) < n {
		sr.types = append(sr.types, sealedType{})
	}
	t := &sr.types[n-1]
	if t.name != name || t.name == "" {
		*t = sealedType{name: name, code: knownTypes[name], business: !notBusiness(name), reads: Reads(name)}
	}
	return *t
}

// event decodes one event into d, which is zero, in place: a decoded
// event is large, and returning it cost a copy (as assigning a whole
// envelope would cost writing it twice).
func (sr *segmentReader) event(pos uint64, d *decoded) error {
	br := &sr.br
	t := sr.eventType()
	d.env.Pos, d.env.Type, d.env.Code, d.env.Business = pos, t.name, t.code, t.business
	copy(d.env.ID[:], br.Fixed(segmentIDSize))
	d.env.Day = day(br.Varint())
	body := br.Fixed(1)
	if err := br.Err(); err != nil {
		return err
	}
	if body[0] == 1 {
		var err error
		if d.ev, err = br.Event(); err != nil {
			return err
		}
	}
	if (d.ev != nil) != t.reads || body[0] > 1 {
		// Written by views that read other types than these.
		return fmt.Errorf("body of a %s", t.name)
	}
	n := br.Fixed(1)
	if err := br.Err(); err != nil {
		return err
	}
	if int(n[0]) > len(d.hints.accounts) {
		return fmt.Errorf("%d account numbers", n[0])
	}
	for i := range int(n[0]) {
		d.hints.accounts[i] = int32(min(br.Uvarint(), math.MaxInt32))
	}
	d.hints.person = int32(min(br.Uvarint(), math.MaxInt32))
	d.hints.loan = int32(min(br.Uvarint(), math.MaxInt32))
	if pos%decodeBatchEvents == 0 {
		copy(d.env.Hash[:], br.Fixed(segmentHash))
	}
	return br.Err()
}

// dropSegments deletes the segment beginning at first and those after it,
// with their partial files.
func (p *Projector) dropSegments(first uint64) {
	for ; ; first += p.sealer.size {
		os.Remove(filepath.Join(p.sealer.dir, partialName(first)))
		err := os.Remove(filepath.Join(p.sealer.dir, segmentName(first)))
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if err != nil {
			p.log.Warn("projections: sealed segment not deleted", "first", first, "err", err)
			return
		}
	}
}
