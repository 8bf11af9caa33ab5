package projections

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/replay"
)

// decodeBatchEvents is how many events one decoding job carries: large
// enough to amortise the hand-offs between goroutines, small enough that a
// query never waits long for the write lock.
const decodeBatchEvents = 512

// decoded is one event ready to apply.
type decoded struct {
	env   envelope
	ev    domain.Event
	err   error
	hints eventHints // from a sealed segment, or found by applying it
}

// rawEvent is what decoding needs of an eventstore.Event; a batch waiting
// to be decoded holds these, under half the size of whole events.
type rawEvent struct {
	Pos          uint64
	ID           uuid.UUID
	Type         string
	Data         []byte
	BusinessDate string
	Hash         [32]byte
}

func rawOf(e *eventstore.Event) rawEvent {
	return rawEvent{Pos: e.Position, ID: e.ID, Type: e.Type, Data: e.Data, BusinessDate: e.Meta.BusinessDate, Hash: e.Hash}
}

// decode decodes one event, sharing repeated values through syms (owned by
// the calling goroutine; nil shares nothing).
func decode(e *eventstore.Event, syms *domain.Symbols) decoded {
	raw := rawOf(e)
	return decodeRaw(&raw, syms)
}

// decodeRaw is decode of what a batch keeps of an event.
func decodeRaw(e *rawEvent, syms *domain.Symbols) decoded {
	ev, err := decodeRead(e.Type, e.Data, syms)
	return envelop(e, ev, err)
}

// fromReplay is decode of an event decoded by a shared read (replay.Feed):
// the decoding of an event no view reads is dropped, as decodeRead never
// makes it.
func fromReplay(e *eventstore.Event, d replay.Decoded) decoded {
	raw := rawOf(e)
	if !Reads(e.Type) {
		return envelop(&raw, nil, nil)
	}
	return envelop(&raw, d.Value, d.Err)
}

// envelop pairs an event's decoding with its envelope.
func envelop(e *rawEvent, ev domain.Event, err error) decoded {
	env := envelope{Pos: e.Pos, ID: e.ID, Type: e.Type, Code: knownTypes[e.Type], Hash: e.Hash, Day: minDay, Business: !notBusiness(e.Type)}
	switch {
	case err != nil:
	case ev != nil:
		env.Day = dayOf(ev.BusinessDate())
	case e.BusinessDate != "":
		// An event no view reads keeps the envelope's date for its history entry.
		env.Day, err = parseDay(e.BusinessDate)
	}
	return decoded{env: env, ev: ev, err: err}
}

// CatchUp applies every event of the log after the views' position, up to
// the head as of the call: from the sealed segments where there are some
// (sealed.go), from the log elsewhere. Decoding runs on every core while
// two goroutines (lanes.go) apply the decoded events, each its part in log
// order.
func (p *Projector) CatchUp(ctx context.Context, r Reader) error {
	c, end := p.startCatchUp()
	defer end()
	if err := p.catchUpSegments(ctx, r, c); err != nil {
		return c.result(err)
	}
	return c.result(p.catchUpLog(ctx, r, c))
}

// catchUpSegments applies the sealed segments after the views' position,
// and the log where one is missing between them: a start from a snapshot
// seals nothing of the segment it begins in; the log fills that hole, the
// sealer writes it, and the segments after it are read.
func (p *Projector) catchUpSegments(ctx context.Context, r Reader, c *catchUp) error {
	for {
		if err := p.catchUpSealed(ctx, r, c); err != nil {
			return err
		}
		c.release() // Position takes the read lock
		p.checkNumbering()
		next, ok := p.nextSegment(p.Position())
		if !ok {
			return nil
		}
		if err := p.catchUpLog(ctx, boundedLog{r, next - 1}, c); err != nil {
			return err
		}
		c.release()
		if p.Position() != next-1 {
			return nil // the log ends before the segment, which is not of this log
		}
	}
}

// catchUpLog applies the events of r after the views' position.
func (p *Projector) catchUpLog(ctx context.Context, r Reader, c *catchUp) error {
	return eventstore.ReadInParallel(ctx, r, p.Position(), eventstore.Pipeline[rawEvent, decoded]{
		Size: decodeBatchEvents,
		Keep: rawOf,
		NewWorker: func() func([]rawEvent, []decoded) {
			syms := domain.NewSymbols()
			return func(in []rawEvent, out []decoded) {
				for i := range in {
					out[i] = decodeRaw(&in[i], syms)
				}
			}
		},
		// The covers lane gets its own copy of what it reads of a run
		// (coverLane.send): the runs are reused.
		Consume: func(_ []rawEvent, out []decoded) error { return c.apply(out) },
	})
}

// catchUpFromSegments applies the sealed segments after the views' position.
func (p *Projector) catchUpFromSegments(ctx context.Context, r Reader) error {
	c, end := p.startCatchUp()
	defer end()
	return c.result(p.catchUpSegments(ctx, r, c))
}

// catchUpShared is CatchUp from a read shared with the writer's open
// (replay.Feed): the events come decoded.
func (p *Projector) catchUpShared(ctx context.Context, m *replay.Member) error {
	c, end := p.startCatchUp()
	defer end()
	var batch []decoded // reused: the covers lane gets its own copy of what it reads
	err := m.Read(ctx, p.Position(), func(b replay.Batch) error {
		batch = batch[:0]
		for i := range b.Events {
			batch = append(batch, fromReplay(&b.Events[i], b.Decoded[i]))
		}
		return c.apply(batch)
	})
	return c.result(err)
}

// catchUp is what one catch-up carries from batch to batch. It holds the
// write lock over runs of up to heldEvents events, so that the covers lane
// may lag behind the main lane within a hold: letting readers in joins the
// lanes, and a join every few runs left one lane idle while the other
// finished. A waiting query is let in after the run being applied.
type catchUp struct {
	p       *Projector
	lane    *coverLane
	applied int   // events since the collector's limit was last raised
	err     error // the first batch that failed to apply
	locked  bool
	held    int  // events applied since the lock was taken
	changed bool // any event applied since the lock was taken
}

// heldEvents is the most events a catch-up applies under one hold of the
// write lock, when no query waits: some 15 ms. Holds of 8 runs made a
// rebuild from sealed segments 5-10% slower.
const heldEvents = 64 * decodeBatchEvents

// startCatchUp relaxes the collector and starts the covers lane, until end.
func (p *Projector) startCatchUp() (c *catchUp, end func()) {
	restore := relaxGC()
	lane, stopLane := startCoverLane()
	if p.sealer != nil {
		lane.onFinished = p.sealer.notePersons
	}
	c = &catchUp{p: p, lane: lane}
	return c, func() {
		c.release()
		stopLane()
		restore()
		// Whole at rest; a misnumbering is checkNumbering's to handle.
		p.mu.Lock()
		p.s.completeIndexes()
		p.writePartialLocked()
		p.mu.Unlock()
	}
}

func (c *catchUp) apply(batch []decoded) error {
	if c.applied += len(batch); c.applied >= gcLimitCheckEvents {
		c.applied = 0
		raiseGCLimit()
	}
	if !c.locked {
		c.p.mu.Lock()
		c.locked = true
	}
	applied, err := c.p.applyLocked(batch, c.lane)
	c.changed = c.changed || applied
	if c.held += len(batch); err != nil || c.held >= heldEvents || c.p.mu.readerWaits() {
		c.release()
	}
	c.err = err
	return err
}

// result is the catch-up's error: the views' own, or the read's, named.
func (c *catchUp) result(err error) error {
	if err != nil && c.err == nil {
		return fmt.Errorf("projections: catch up: %w", err)
	}
	return err
}

// release shows what the catch-up applied and lets readers in.
func (c *catchUp) release() {
	if !c.locked {
		return
	}
	c.p.showLocked(c.lane, c.changed)
	if c.p.sealer != nil {
		c.p.sealer.settle() // the covers lane has numbered the persons (notePersons)
	}
	c.p.mu.Unlock()
	c.locked, c.held, c.changed = false, 0, false
}

// Garbage collection during a catch-up. A rebuild allocates several times
// the memory it keeps (the store's decoded events, the batches), while the
// heap it marks on each cycle holds the store's index and the views; with
// the default GOGC a rebuild of a million events spends a third of its time
// collecting. During a catch-up the collector runs less often, under a soft
// memory limit that bounds the heap to catchUpMemoryFloor or
// catchUpLiveFactor times the live heap, whichever is more; both settings
// are restored when the last catch-up in the process ends. The live heap
// grows with the views, so the limit follows it, at catchUpRaisedPercent
// of the live heap (raiseGCLimit, every gcLimitCheckEvents): a limit fixed
// at the start would, once the views outgrew it, have the collector run
// back to back; a lower share than at the start keeps a large rebuild's
// peak near its live heap (at 10M events 1.7 GB live, 2.7 GB peak at 200%).
// A GOGC or
// GOMEMLIMIT the operator set is respected: GC off or already less frequent
// stays as it is, and an operator's memory limit stays in force.
const (
	catchUpGCPercent     = 400
	catchUpMemoryFloor   = 768 << 20 // bytes: keeps a 1M-event rebuild under 1 GiB of RSS
	catchUpLiveFactor    = 2
	catchUpRaisedPercent = 150
	gcLimitCheckEvents   = 1 << 16
)

var gcTuning struct {
	sync.Mutex
	active   int
	percent  int
	limit    int64 // the limit before the first catch-up
	ownLimit bool  // the limit in force is the catch-up's, not the operator's
}

// raiseGCLimit raises the catch-up's memory limit to catchUpRaisedPercent
// of the live heap the last collection found, if that is more.
func raiseGCLimit() {
	gcTuning.Lock()
	defer gcTuning.Unlock()
	if gcTuning.active == 0 || !gcTuning.ownLimit {
		return
	}
	if want := liveHeap() * catchUpRaisedPercent / 100; want > debug.SetMemoryLimit(-1) {
		debug.SetMemoryLimit(want)
	}
}

// relaxGC makes the collector run less often until the returned function is called.
func relaxGC() (restore func()) {
	gcTuning.Lock()
	defer gcTuning.Unlock()
	if gcTuning.active == 0 {
		gcTuning.percent = debug.SetGCPercent(catchUpGCPercent)
		if gcTuning.percent < 0 || gcTuning.percent >= catchUpGCPercent {
			debug.SetGCPercent(gcTuning.percent)
		}
		gcTuning.limit = debug.SetMemoryLimit(-1)
		gcTuning.ownLimit = gcTuning.limit == math.MaxInt64
		if gcTuning.ownLimit {
			debug.SetMemoryLimit(max(catchUpMemoryFloor, catchUpLiveFactor*liveHeap()))
		}
	}
	gcTuning.active++
	return func() {
		gcTuning.Lock()
		defer gcTuning.Unlock()
		if gcTuning.active--; gcTuning.active == 0 {
			debug.SetGCPercent(gcTuning.percent)
			debug.SetMemoryLimit(gcTuning.limit)
		}
	}
}

// liveHeap is the heap the last collection found live, in bytes.
func liveHeap() int64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(sample[0].Value.Uint64())
}

// resume checks that the snapshot the views were loaded from is a prefix of
// this log (the event at its position has the hash it recorded); if not, the
// views start again from position 0.
func (p *Projector) resume(ctx context.Context, r Reader) error {
	p.mu.RLock()
	pos, hash := p.s.Pos, p.s.Hash
	p.mu.RUnlock()
	if pos == 0 {
		return nil
	}
	e, ok, err := eventstore.EventAt(ctx, r, pos)
	if err != nil {
		return fmt.Errorf("projections: check snapshot at %d: %w", pos, err)
	}
	if !ok || e.Hash != hash {
		p.log.Warn("projections: snapshot does not match the log; rebuilding", "position", pos)
		p.mu.Lock()
		p.s = newState()
		p.mu.Unlock()
	}
	return nil
}

// Run keeps the views up to date until ctx ends: it checks the snapshot
// against the log, catches up on both cores, then follows the log live,
// publishing every change and writing a snapshot now and then. A restart
// resumes from the snapshot's position: events up to it are skipped, so
// each is applied exactly once however often it is delivered.
func (p *Projector) Run(ctx context.Context, log Log) error {
	err := p.run(ctx, log)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (p *Projector) run(ctx context.Context, log Log) error {
	if err := p.catchUpAtStart(ctx, log); err != nil {
		// A rebuild stopped half way keeps what it applied: the views are
		// whole at every batch's end, and the next start goes on from there.
		if serr := p.snapshotNow(); serr != nil {
			p.log.Warn("projections: snapshot after a stopped catch-up not written", "err", serr)
		}
		return err
	}
	if err := p.snapshotNow(); err != nil {
		return err
	}
	p.startPublishing(ctx)
	lastSnapshot := time.Now()
	syms := domain.NewSymbols()
	err := log.Subscribe(ctx, p.Position(), func(e eventstore.Event) error {
		if err := p.applyBatch([]decoded{decode(&e, syms)}); err != nil {
			return err
		}
		if time.Since(lastSnapshot) >= p.cfg.SnapshotInterval {
			lastSnapshot = time.Now()
			return p.snapshotNow()
		}
		return nil
	})
	p.sealPartial()
	if serr := p.snapshotNow(); serr != nil && err == nil {
		err = serr
	}
	return fmt.Errorf("projections: follow the log: %w", err)
}

// catchUpAtStart checks the snapshot against the log and applies the
// events after it: first those of the sealed segments, then those of the
// read shared with the writer, if any, then whatever the log holds beyond.
func (p *Projector) catchUpAtStart(ctx context.Context, log Log) error {
	shared := p.cfg.Replay
	if shared != nil {
		defer shared.Leave() // never holds the writer's read back
	}
	if err := p.resume(ctx, log); err != nil {
		return err
	}
	if err := p.catchUpFromSegments(ctx, log); err != nil {
		return err
	}
	if shared != nil {
		if err := p.catchUpShared(ctx, shared); err != nil {
			return err
		}
	}
	return p.CatchUp(ctx, log)
}
