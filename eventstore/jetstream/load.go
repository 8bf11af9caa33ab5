package jetstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/hrss-ledger/ledger/eventstore"
)

// Opening a long log is a pipeline over its messages, from the cache and
// then from the stream: one goroutine reads them in order, a worker per
// core decodes each and checks its hash chain (eventstore.Run.Prepare: an
// event's stored hash is checked against the stored hash before it, so the
// messages need not wait for one another), and one goroutine folds them in
// order into an eventstore.Loader, which checks what crosses messages and
// sorts the state's indexes once at the end.
//
// Close saves the state (eventstore.State.WriteSnapshot) beside the cache.
// The next open resumes from it: the messages up to its head are decoded
// and their hash chain checked all the same, as the cache's bytes are
// served to readers and must be vouched for, but their digests are not
// computed and nothing is sorted; the chain must reach the saved state's
// hash at its head, so a saved state is used only for the very log it was
// taken from. At ten million events that halves the work of an open.
//
// What the chain cannot vouch for is the saved indexes themselves (a
// command id, a stream's version): they are as trusted as the rest of the
// data directory, checked against accidents (a checksum, the layout, sizes
// bounded by the log) but not against someone who may write there, who
// could as well rewrite the stream. The writer's own snapshot rests on the
// same ground. A command recorded twice because a saved index lacked it
// would still show at the next open without the saved state, which refuses
// a log where a command appears twice.

// loadQueuedMsgs bounds the messages between the reader and the folding:
// some tens of megabytes at the contract's batch limits.
const loadQueuedMsgs = 64

// loading is the state being rebuilt at open.
type loading struct {
	loader   *eventstore.Loader
	lastSeq  uint64
	firstPos []eventstore.Position
	// resumedHead is the head of the saved state the loader resumed from:
	// messages up to it are only checked (eventstore.Run.PrepareChain).
	resumedHead eventstore.Position
}

// newLoading starts a load of a log of about events events, resuming
// from saved when there is a saved state.
func newLoading(events int, saved *savedState) *loading {
	if saved == nil {
		return &loading{loader: eventstore.NewLoader(events)}
	}
	l := &loading{loader: eventstore.NewLoader(0), resumedHead: saved.head}
	l.loader.Resume(saved.head, saved.hash, max(events-int(saved.head), 0))
	return l
}

// state returns the loaded state: the loader's, or the saved one with the
// events after it folded in. A saved state that fails its checksum is as
// unusable as one the log does not lead to.
func (l *loading) state(saved *savedState) (*eventstore.State, error) {
	if saved == nil {
		return l.loader.State()
	}
	base := <-saved.read
	if base.err != nil {
		return nil, fmt.Errorf("%w: %v", eventstore.ErrSnapshotStale, base.err)
	}
	return l.loader.StateFrom(base.state)
}

// loadJob is one message on its way through the pipeline.
type loadJob struct {
	seq     uint64
	payload []byte // the message, stable until the job is folded
	buf     []byte // the job's own copy of a payload the reader reuses
	events  []eventstore.Event
	run     eventstore.Run
	err     error
	done    chan struct{} // closed once decoded and prepared
}

// feedFunc hands the next message to the pipeline; owned says that the
// payload stays as it is (else it is copied). An error stops the reading.
type feedFunc func(seq uint64, payload []byte, owned bool) error

// pass runs the pipeline over the messages that produce feeds, in order.
func (l *loading) pass(produce func(feedFunc) error) error {
	free := make(chan *loadJob, loadQueuedMsgs)
	for range loadQueuedMsgs {
		free <- &loadJob{}
	}
	work := make(chan *loadJob, loadQueuedMsgs)
	ordered := make(chan *loadJob, loadQueuedMsgs)
	failed := make(chan struct{})
	var workers sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		workers.Go(func() { l.prepareJobs(work) })
	}
	folded := make(chan error, 1)
	go func() { folded <- l.fold(ordered, free, failed) }()
	feed := func(seq uint64, payload []byte, owned bool) error {
		var j *loadJob
		select {
		case <-failed: // before a free job, which the draining folder offers too
			return errStopped
		default:
		}
		select {
		case j = <-free:
		case <-failed:
			return errStopped
		}
		j.seq, j.payload, j.done = seq, payload, make(chan struct{})
		if !owned {
			j.buf = append(j.buf[:0], payload...)
			j.payload = j.buf
		}
		work <- j // never blocks: the channels hold every job
		ordered <- j
		return nil
	}
	err := produce(feed)
	close(work)
	close(ordered)
	workers.Wait()
	foldErr := <-folded
	if errors.Is(err, errStopped) {
		err = nil // the folding's error says why
	}
	return errors.Join(foldErr, err)
}

// prepareJobs decodes messages and checks their events' chain.
func (l *loading) prepareJobs(work <-chan *loadJob) {
	dec := newTransientDecoder()
	for j := range work {
		j.events, _, j.err = dec.decode(j.events[:0], j.payload)
		switch {
		case j.err != nil:
		case j.events[len(j.events)-1].Position <= l.resumedHead:
			j.err = j.run.PrepareChain(j.events)
		default:
			j.err = j.run.Prepare(j.events)
		}
		if j.err != nil {
			j.err = fmt.Errorf("jetstream: message %d: %w", j.seq, j.err)
		}
		close(j.done)
	}
}

// fold adds the prepared messages to the loader in order, and recycles
// their jobs. After the first error it only drains, having closed failed
// to stop the reading.
func (l *loading) fold(ordered <-chan *loadJob, free chan<- *loadJob, failed chan struct{}) error {
	var err error
	for j := range ordered {
		<-j.done
		if err == nil {
			err = j.err
		}
		if err == nil && j.seq != l.lastSeq+1 {
			err = fmt.Errorf("jetstream: message %d after %d: %w", j.seq, l.lastSeq, eventstore.ErrCorrupt)
		}
		if err == nil {
			err = l.loader.Add(&j.run)
		}
		if err == nil {
			l.firstPos = append(l.firstPos, j.events[0].Position)
			l.lastSeq = j.seq
		} else if failed != nil {
			close(failed)
			failed = nil
		}
		clear(j.events) // they alias the payload, reused next
		j.payload = nil
		free <- j
	}
	return err
}

// load rebuilds the state from the cache and the stream, resuming from
// the state saved at the last close when there is one. A saved state the
// log does not lead to is deleted and the log loaded without it; a cache
// found wrong is emptied and the state rebuilt from the stream alone: a
// damaged cache or snapshot costs time, never correctness.
func (s *Store) load(ctx context.Context) error {
	events, err := s.streamEvents(ctx)
	if err != nil {
		return err
	}
	if saved := s.openSnapshot(events); saved != nil {
		err = s.loadOrRebuild(ctx, events, saved)
		if err == nil || !isCorruption(err) {
			return err
		}
		s.removeSnapshot()
	}
	return s.loadOrRebuild(ctx, events, nil)
}

// loadOrRebuild loads from the cache and the stream, or, when that finds
// corruption, from the stream alone.
func (s *Store) loadOrRebuild(ctx context.Context, events int, saved *savedState) error {
	cached, err := s.loadFrom(ctx, events, true, saved)
	if err != nil && cached && isCorruption(err) && saved == nil {
		if err = s.cache.restart(); err == nil {
			_, err = s.loadFrom(ctx, events, false, nil)
		}
	}
	return err
}

func isCorruption(err error) bool {
	return errors.Is(err, eventstore.ErrCorrupt) || errors.Is(err, errBadPayload) || errors.Is(err, eventstore.ErrSnapshotStale)
}

// streamEvents returns how many events the stream holds, to size the
// loader: the last message tells where the log ends. It is not checked
// yet, so a count no log of that many messages can hold is ignored rather
// than allocated.
func (s *Store) streamEvents(ctx context.Context) (int, error) {
	last, err := s.streamLast(ctx)
	if err != nil || last == 0 {
		return 0, err
	}
	b, err := s.get(ctx, newDecoder(), last)
	if err != nil {
		return 0, err
	}
	events := b.header.first + uint64(b.header.count) - 1
	if events > last*eventstore.MaxBatchEvents {
		return 0, nil
	}
	return int(events), nil
}

// loadFrom rebuilds the state, first from the cache when useCache is set
// (reporting whether any of it was used), then from the stream past it,
// feeding the cache with what it lacked.
func (s *Store) loadFrom(ctx context.Context, events int, useCache bool, saved *savedState) (cached bool, err error) {
	l := newLoading(events, saved)
	if useCache && s.cache != nil {
		if err := s.loadCache(ctx, l); err != nil {
			if errors.Is(err, eventstore.ErrSnapshotStale) {
				return false, err
			}
			if err := s.cache.restart(); err != nil {
				return false, err
			}
			l = newLoading(events, saved)
		}
	}
	cached = l.lastSeq > 0
	s.startCache()
	last, err := s.streamLast(ctx)
	if err == nil && last > l.lastSeq {
		err = l.pass(func(feed feedFunc) error {
			return s.scan(ctx, l.lastSeq+1, last, func(b batch) error {
				if err := feed(b.seq, b.payload, true); err != nil {
					return err
				}
				if s.cache != nil {
					s.cache.add(b.seq, b.payload)
				}
				return nil
			})
		})
	}
	if err != nil {
		return cached, err
	}
	state, err := l.state(saved)
	if err != nil {
		return cached, fmt.Errorf("jetstream: %w", err)
	}
	s.mu.Lock()
	s.state, s.lastSeq, s.firstPos = state, l.lastSeq, l.firstPos
	s.mu.Unlock()
	return cached, nil
}

// loadCache feeds the cached messages to l, then checks the last one
// against the stream: the hash chain then vouches for all before it.
func (s *Store) loadCache(ctx context.Context, l *loading) error {
	err := l.pass(func(feed feedFunc) error {
		return s.cache.load(func(seq uint64, payload []byte) error {
			return feed(seq, payload, false)
		})
	})
	if err != nil || l.lastSeq == 0 {
		return err
	}
	if l.lastSeq != s.cache.lastSeq.Load() {
		return fmt.Errorf("jetstream: cache holds %d messages, %d loaded", s.cache.lastSeq.Load(), l.lastSeq)
	}
	payload, err := s.cache.read(l.lastSeq)
	if err != nil {
		return err
	}
	return s.matchesStream(ctx, l.lastSeq, payload)
}

// snapshotFileName is the state saved at close, beside the cache.
const snapshotFileName = "state.snapshot"

// savedState is the state saved at the last close: its head, read at
// once, and the rest, read on a goroutine of its own while the log loads.
type savedState struct {
	head eventstore.Position
	hash [32]byte
	read chan savedRead // receives it once
}

type savedRead struct {
	state *eventstore.State
	err   error
}

// openSnapshot starts reading the state saved at the last close; nil when
// there is none or its header is unusable (the log is then loaded whole).
func (s *Store) openSnapshot(events int) *savedState {
	if s.cache == nil {
		return nil
	}
	f, err := os.Open(filepath.Join(s.cfg.cacheDir, snapshotFileName))
	if err != nil {
		return nil
	}
	sr, err := eventstore.OpenSnapshot(bufio.NewReaderSize(f, snapshotBufferLen), eventstore.Position(events))
	if err != nil {
		f.Close()
		s.removeSnapshot()
		return nil
	}
	saved := &savedState{read: make(chan savedRead, 1)}
	saved.head, saved.hash = sr.Head()
	go func() {
		defer f.Close()
		state, err := sr.State()
		saved.read <- savedRead{state, err}
	}()
	return saved
}

// snapshotBufferLen buffers the reading and writing of a snapshot.
const snapshotBufferLen = 1 << 20

func (s *Store) removeSnapshot() {
	os.Remove(filepath.Join(s.cfg.cacheDir, snapshotFileName))
}

// writeSnapshot saves the state beside the cache for the next open,
// durably (eventstore.WriteFileDurably): a crash leaves the old snapshot or
// the new one whole. The committer must be stopped.
func (s *Store) writeSnapshot() error {
	if s.cache == nil {
		return nil
	}
	err := eventstore.WriteFileDurably(s.cfg.cacheDir, snapshotFileName, func(f io.Writer) error {
		w := bufio.NewWriterSize(f, snapshotBufferLen)
		s.mu.Lock() // writing merges the state's indexes
		err := s.state.WriteSnapshot(w)
		s.mu.Unlock()
		return errors.Join(err, w.Flush())
	})
	if err != nil {
		return fmt.Errorf("jetstream: snapshot: %w", err)
	}
	return nil
}
