// Package writer is the ledger's single sequencer: it decides commands in
// arrival order against the whole in-memory write-side state and appends
// them in groups, one durable write per group (group commit).
//
// Why one sequencer: every invariant of the ledger (a fund never below zero,
// a loan never repaid beyond what is owed, a person's per-program limit) is
// then checked against one consistent state, with no lock and no retry loop
// per aggregate, and a hot aggregate (the city's subsidy fund, drawn on by
// every payment) does not serialise the writers on optimistic conflicts.
// Between processes the log head is the only guard: each batch is appended
// with the head it was decided at, so a second writer that appended in
// between makes the batch fail with eventstore.ErrConflict; this writer then
// rolls its tentative state back, catches up from the log and decides again.
//
// A retried command is answered from the command index its store keeps
// anyway (eventstore.CommandLookup): the writer remembers only the commands
// it read from the log past what its store has folded in (commands.go). With
// WithSnapshotDir, the state is written to a file at Close, after a long
// replay at Open and, rebuilt beside the sequencer, every million events
// appended; the next Open reads it back when the log vouches for it, so
// that a start replays only the events after it (snapshot.go, refresh.go).
package writer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/replay"
)

// Limits of the sequencer.
const (
	maxBatchCommands    = 256                    // commands decided and appended together
	queueCommands       = 4096                   // commands waiting for the sequencer
	maxConflictRetries  = 16                     // catch-ups after another writer appended
	conflictBackoffBase = 200 * time.Microsecond // first random wait after losing a race
	conflictBackoffMax  = 20 * time.Millisecond  // longest random wait
	appendTimeout       = 30 * time.Second       // one durable append of a batch
	catchUpMarkEvents   = 4096                   // events caught up between marks of the state
	snapshotAfterEvents = 1 << 20                // events replayed at Open past which it writes a snapshot at once
	snapshotEveryEvents = 1 << 20                // events appended past the newest snapshot before another is rebuilt
)

// Request is one command with what the envelope records about it.
type Request struct {
	Command       domain.Command
	CommandID     string // idempotency key: the same id is never applied twice
	Fingerprint   string // hash of the command's content; a reused id with another is refused
	Actor         string
	CorrelationID string
}

// Outcome is what a command produced: its events and where they stand in the log.
type Outcome struct {
	Events      []domain.Event
	First, Last eventstore.Position // positions of the first and last event
	Duplicate   bool                // the command id had been applied before; Events are the original ones
}

// ErrStopped is returned for commands that arrive after the writer stopped.
var ErrStopped = errors.New("writer: stopped")

type pending struct {
	ctx   context.Context
	req   Request
	reply chan reply
	probe bool      // only asks whether req.CommandID was applied
	trial []Request // DryRun: decide these in order, then forget them
}

type reply struct {
	outcome Outcome
	err     error
	trial   []error // DryRun's answer
	// readBack: a duplicate whose original events the caller reads from
	// the log itself, so that the sequencer never waits on a read.
	readBack bool
}

// Writer owns the write-side state. Create it with Open; stop it with Close.
type Writer struct {
	store   eventstore.Store
	cfg     config
	ledger  *domain.Ledger
	head    eventstore.Position // owned by the sequencer goroutine
	marked  bool                // the ledger has been marked: it journals every change
	visible atomic.Uint64       // head, published for other goroutines
	// Every command applied is found in the store (lookup) or in own: with
	// a store that answers lookups, own holds only the commands caught up
	// past what the store knows (commands.go); without, every one, forever.
	lookup eventstore.CommandLookup
	own    *eventstore.CommandIndex
	ownTop eventstore.Position // the last position own holds a command at
	queue  chan *pending
	stop   chan struct{}
	done   chan struct{}
	// mu is read-locked by every send to queue and write-locked by Close, so
	// that nothing enters the queue after the sequencer's last drain.
	mu      sync.RWMutex
	stopped bool
	// Snapshots (snapshot.go, refresh.go): the newest one's position, one
	// file write at a time, and the rebuild that runs beside the sequencer.
	snapshotAt    atomic.Uint64
	snapshotMu    sync.Mutex
	refreshing    atomic.Bool
	refreshTried  eventstore.Position // the last head a rebuild started at, owned by the sequencer
	background    sync.WaitGroup
	refreshCtx    context.Context
	cancelRefresh context.CancelFunc
}

// Option configures a Writer.
type Option func(*config)

type config struct {
	snapshotDir string
	logger      *slog.Logger
	// snapshotAfter: an Open that replays more events than this writes a
	// snapshot before the sequencer starts.
	snapshotAfter uint64
	// snapshotEvery: once this many events were appended past the newest
	// snapshot, a new one is rebuilt beside the sequencer.
	snapshotEvery uint64
	// replay, if set, is the open's share of a read of the log that the
	// views make too (WithReplay).
	replay *replay.Member
}

// WithReplay has Open take the log's events, decoded, from a read shared
// with the views (replay.Feed) instead of reading and decoding them
// itself: a start that rebuilds both decodes each event once. Open reads
// through m or leaves it, whatever happens.
func WithReplay(m *replay.Member) Option { return func(c *config) { c.replay = m } }

// WithSnapshotDir keeps a snapshot of the write-side state in dir: written
// at Close and periodically, read at Open, so that a start replays only the
// log's tail. It
// needs a store that answers command lookups (eventstore.CommandLookup);
// with another store the writer replays the whole log as without it.
func WithSnapshotDir(dir string) Option { return func(c *config) { c.snapshotDir = dir } }

// WithLogger sets where the writer says why it did not use a snapshot
// (slog.Default otherwise).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Open rebuilds the write-side state, from a snapshot and the log after it
// or from the whole log, and starts the sequencer.
func Open(ctx context.Context, store eventstore.Store, opts ...Option) (*Writer, error) {
	cfg := config{logger: slog.Default(), snapshotAfter: snapshotAfterEvents, snapshotEvery: snapshotEveryEvents}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.replay != nil {
		defer cfg.replay.Leave() // never holds the others' read back
	}
	w := &Writer{
		store:  store,
		cfg:    cfg,
		ledger: domain.NewLedger(),
		own:    eventstore.NewCommandIndex(),
		queue:  make(chan *pending, queueCommands),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	w.refreshCtx, w.cancelRefresh = context.WithCancel(context.Background())
	w.lookup, _ = store.(eventstore.CommandLookup)
	w.restore(ctx)
	from := w.head
	if err := w.catchUp(ctx); err != nil {
		return nil, fmt.Errorf("writer: rebuild state: %w", err)
	}
	go w.run(w.head-from > w.cfg.snapshotAfter)
	return w, nil
}

// Head returns the log position of the last command this writer has
// acknowledged or caught up to.
func (w *Writer) Head() eventstore.Position { return w.visible.Load() }

// submit queues p for the sequencer, or says why not.
func (w *Writer) submit(ctx context.Context, p *pending) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.stopped {
		return ErrStopped
	}
	select {
	case w.queue <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Applied reports whether a command id has been applied (by any writer whose
// events this one has seen).
func (w *Writer) Applied(ctx context.Context, commandID string) (bool, error) {
	p := &pending{ctx: ctx, req: Request{CommandID: commandID}, reply: make(chan reply, 1), probe: true}
	if err := w.submit(ctx, p); err != nil {
		return false, err
	}
	r := <-p.reply
	return r.outcome.Duplicate, r.err
}

// DryRun decides the requests in order against the current state, each
// seeing the ones before it, and appends nothing: it returns each request's
// refusal (nil where it would be accepted; a command id already applied
// counts as accepted, it would be answered as a duplicate).
func (w *Writer) DryRun(ctx context.Context, reqs []Request) ([]error, error) {
	p := &pending{ctx: ctx, trial: reqs, reply: make(chan reply, 1)}
	if err := w.submit(ctx, p); err != nil {
		return nil, err
	}
	r := <-p.reply
	return r.trial, r.err
}

// ExecuteAll submits the requests in order and waits for all of them; each
// is decided after the ones before it. It returns an outcome and an error
// per request.
func (w *Writer) ExecuteAll(ctx context.Context, reqs []Request) ([]Outcome, []error) {
	waiting := make([]*pending, len(reqs))
	for i, req := range reqs {
		waiting[i] = &pending{ctx: ctx, req: req, reply: make(chan reply, 1)}
		if err := w.submit(ctx, waiting[i]); err != nil {
			waiting[i].reply <- reply{err: err}
		}
	}
	outcomes := make([]Outcome, len(reqs))
	errs := make([]error, len(reqs))
	for i, p := range waiting {
		outcomes[i], errs[i] = w.completed(<-p.reply)
	}
	return outcomes, errs
}

// Execute decides the command and, when accepted, returns once its events are
// durable. A refusal is a *domain.Error and appends nothing.
func (w *Writer) Execute(ctx context.Context, req Request) (Outcome, error) {
	p := &pending{ctx: ctx, req: req, reply: make(chan reply, 1)}
	if err := w.submit(ctx, p); err != nil {
		return Outcome{}, err
	}
	// Once queued the command is decided whatever the caller does: waiting
	// for the answer keeps an acknowledged command from looking lost.
	return w.completed(<-p.reply)
}

// completed finishes an answer in the caller's goroutine: a duplicate's
// original events are read back from the log here.
func (w *Writer) completed(r reply) (Outcome, error) {
	if !r.readBack || r.err != nil {
		return r.outcome, r.err
	}
	events, err := w.eventsBetween(r.outcome.First, r.outcome.Last)
	if err != nil {
		return Outcome{}, err
	}
	r.outcome.Events = events
	return r.outcome, nil
}

// Close finishes the commands already queued, stops the sequencer and,
// with a snapshot directory, writes the state's snapshot there. The store
// must still be open. Closing again does nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	first := !w.stopped
	if first {
		w.stopped = true
		close(w.stop)
	}
	w.mu.Unlock()
	<-w.done
	if !first {
		return nil
	}
	w.cancelRefresh()
	w.background.Wait()
	if err := w.saveSnapshot(); err != nil {
		// Said here too, as a caller that closes on its way out may drop
		// the error: the next start then replays from an older snapshot.
		w.cfg.logger.Warn("writer: snapshot at close not written", "err", err)
		return err
	}
	return nil
}

func (w *Writer) run(snapshotFirst bool) {
	defer close(w.done)
	if snapshotFirst {
		// A long replay (the first start, or after a crash: Close never
		// wrote the snapshot) is not repeated by the next start, even if
		// this process never stops gracefully. The sequencer writes it
		// before its first command, so that Open returns (and the server
		// answers queries) without waiting for it; commands that arrive
		// meanwhile wait in the queue.
		if err := w.saveSnapshot(); err != nil {
			w.cfg.logger.Warn("writer: snapshot after a long replay not written", "err", err)
		}
	}
	for {
		select {
		case p := <-w.queue:
			w.handle(p)
		case <-w.stop:
			w.drain()
			return
		}
	}
}

// handle runs a trial, or decides and appends a batch starting with p; a
// trial met while collecting the batch runs right after it.
func (w *Writer) handle(p *pending) {
	for p != nil {
		if p.trial != nil {
			w.dryRun(p)
			return
		}
		var batch []*pending
		batch, p = w.collect(p)
		w.process(batch)
	}
}

// drain answers what was queued before Close: in-flight commands finish.
// Close holds mu while it stops, so nothing is queued after this.
func (w *Writer) drain() {
	for {
		select {
		case p := <-w.queue:
			w.handle(p)
		default:
			return
		}
	}
}

// dryRun decides a trial's requests tentatively and rolls them all back.
func (w *Writer) dryRun(p *pending) {
	w.ledger.Mark()
	errs := make([]error, len(p.trial))
	inBatch := map[string]seen{}
	for i, req := range p.trial {
		d := w.decide(&pending{req: req}, inBatch)
		if d.commit != nil {
			w.accept(d, i, inBatch)
		}
		errs[i] = d.err
	}
	w.ledger.Rollback()
	p.reply <- reply{trial: errs}
}

// collect gathers the commands already waiting, up to the batch limit, so
// that one durable write carries them all. A trial ends the batch and is
// returned: it sees every command queued before it, and none after.
func (w *Writer) collect(first *pending) (batch []*pending, trial *pending) {
	batch = []*pending{first}
	for len(batch) < maxBatchCommands {
		select {
		case p := <-w.queue:
			if p.trial != nil {
				return batch, p
			}
			batch = append(batch, p)
		default:
			return batch, nil
		}
	}
	return batch, nil
}
