package projections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/replay"
)

// Reader is the part of the log a rebuild needs; eventstore.Store has it.
type Reader interface {
	Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error
}

// Log is the part of the log the live views need; eventstore.Store has it.
type Log interface {
	Reader
	Subscribe(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error
}

// Limits and pacing.
const (
	// defaultSnapshotInterval is how often a running projector writes its
	// snapshot when it has applied something new.
	defaultSnapshotInterval = 30 * time.Second
	// maxWaitFor bounds WaitFor when the caller's context has no deadline.
	maxWaitFor = 2 * time.Second
	// publishInterval spaces publications so that a burst of events becomes
	// one update per view.
	publishInterval = 50 * time.Millisecond
	// subscriberBuffer is the changes an in-process subscriber may lag
	// before further changes to it are dropped (it can re-query the view).
	subscriberBuffer = 256
)

// ErrWaitTimeout: the views did not reach the asked position in time (the
// API answers 503 rather than a stale figure).
var ErrWaitTimeout = errors.New("projections: views behind the log")

// ErrPositionGap: the log delivered an event whose position does not follow
// the last applied one (the store's contract is positions 1, 2, 3, ...).
var ErrPositionGap = errors.New("projections: gap in the log's positions")

// Config configures a Projector. Every field is optional.
type Config struct {
	// Dir holds the snapshot (views.snap). Empty: no snapshots, every start rebuilds.
	Dir string
	// Sealed holds the sealed segments of the log (sealed.go), which a
	// rebuild reads instead of decoding the log. Empty: Dir's "sealed"
	// directory, or none when Dir is empty too.
	Sealed string
	// SnapshotInterval spaces snapshots of a running projector (default 30s).
	SnapshotInterval time.Duration
	// Publisher receives every change on ledger.views.<view>.<key>.
	Publisher Publisher
	// Latest keeps the latest value of each view for late joiners.
	Latest LatestStore
	// Logger reports publication failures and discarded snapshots.
	Logger *slog.Logger
	// Replay, if set, is Run's share of a read of the log made for the
	// writer's open too (replay.Feed): its first catch-up takes the events
	// decoded from it. Run reads through it or leaves it, whatever happens.
	Replay *replay.Member
}

// Projector holds the views, keeps them up to date from the log and answers
// queries on them. Queries may run concurrently with the runner.
type Projector struct {
	cfg Config
	log *slog.Logger

	mu       viewsLock
	s        *state
	advanced chan struct{} // closed and replaced whenever s.Pos moves

	// sealer writes the sealed segments; nil without a directory for them.
	sealer *sealer

	subsMu sync.Mutex
	subs   map[*subscriber]struct{}
	wake   chan struct{} // nudges the publisher
}

// viewsLock guards the views: the runner writes, queries read. It counts
// the readers, so that a catch-up, which holds the write lock over many
// runs of events (catchUp), lets a waiting reader in after the run it is
// applying.
type viewsLock struct {
	sync.RWMutex
	readers atomic.Int32 // waiting for the read lock or holding it
}

// RLock takes the read lock, counting the reader first.
func (l *viewsLock) RLock() {
	l.readers.Add(1)
	l.RWMutex.RLock()
}

// RUnlock releases the read lock.
func (l *viewsLock) RUnlock() {
	l.RWMutex.RUnlock()
	l.readers.Add(-1)
}

// readerWaits reports whether a reader waits for the read lock (or holds it).
func (l *viewsLock) readerWaits() bool { return l.readers.Load() > 0 }

// New returns a projector, loaded from the snapshot in cfg.Dir when there is one.
func New(cfg Config) (*Projector, error) {
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("projections: %w", err)
		}
	}
	if cfg.SnapshotInterval <= 0 {
		cfg.SnapshotInterval = defaultSnapshotInterval
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Projector{cfg: cfg, log: logger, s: newState(), advanced: make(chan struct{}),
		subs: map[*subscriber]struct{}{}, wake: make(chan struct{}, 1)}
	if cfg.Sealed == "" && cfg.Dir != "" {
		cfg.Sealed = filepath.Join(cfg.Dir, sealedDirName)
	}
	if cfg.Sealed != "" {
		p.sealer = newSealer(cfg.Sealed, logger)
	}
	if cfg.Dir != "" {
		s, err := loadSnapshot(cfg.Dir)
		switch {
		case err != nil:
			// The log is the truth: a snapshot that cannot be read costs a
			// rebuild, never a refusal to start.
			logger.Warn("projections: snapshot ignored; rebuilding from the log", "err", err)
		case s != nil:
			p.s = s
		}
	}
	return p, nil
}

// Position is the last log position the views reflect.
func (p *Projector) Position() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.s.Pos
}

// WaitFor waits until the views reflect position pos (read-your-writes),
// at most until ctx ends or maxWaitFor passes; then it returns ErrWaitTimeout.
func (p *Projector) WaitFor(ctx context.Context, pos uint64) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, maxWaitFor)
		defer cancel()
	}
	for {
		p.mu.RLock()
		cur, ch := p.s.Pos, p.advanced
		p.mu.RUnlock()
		if cur >= pos {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: at %d, asked %d: %w", ErrWaitTimeout, cur, pos, ctx.Err())
		}
	}
}

// Progress answers GET /v1/progress (issuer and asOf may be empty).
func (p *Projector) Progress(region string, year int, issuer, asOf string) (domain.ProgressReport, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.s.Progress(region, year, issuer, asOf)
}

// Portfolio answers GET /v1/portfolio (year 0: all years; asOf may be empty).
func (p *Projector) Portfolio(region string, year int, asOf string) (domain.PortfolioReport, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.s.Portfolio(region, year, asOf)
}

// Fund answers GET /v1/funds/{fund_id}.
func (p *Projector) Fund(id, asOf string) (domain.FundReport, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.s.Fund(id, asOf)
}

// Loan answers GET /v1/loans/{loan_id}.
func (p *Projector) Loan(id, asOf string) (domain.LoanReport, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.s.Loan(id, asOf)
}

// History answers GET /v1/history for an account (fund:ID, beneficiary:ID,
// loan:ID, bank:NAME, ...), with entries dated in [from, to] (either may be empty).
func (p *Projector) History(account, from, to string) (domain.HistoryReport, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.s.History(account, from, to)
}

// DrillDown lists the events behind a figure of progress or portfolio.
func (p *Projector) DrillDown(q DrillQuery) (domain.DrillDown, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.s.DrillDown(q)
}

// Regions lists the codes of the root regions (those without a parent), for
// dashboards that start at the top of the tree.
func (p *Projector) Regions() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	var roots []string
	for _, r := range p.s.Regions {
		if r.Parent < 0 {
			roots = append(roots, r.Code)
		}
	}
	return roots
}

// applyBatch applies decoded events in order under the write lock, skipping
// positions already applied (at-least-once delivery, exactly-once effect),
// and shows them: the live path, one goroutine.
func (p *Projector) applyBatch(batch []decoded) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	applied, err := p.applyLocked(batch, nil)
	p.showLocked(nil, applied)
	if p.sealer != nil {
		p.sealer.settle()
	}
	return err
}

// applyLocked applies what admit lets through of a batch, the covers part
// on lane when not nil (lanes.go), and reports whether it applied any.
// Callers hold mu, and call showLocked before they release it.
func (p *Projector) applyLocked(batch []decoded, lane *coverLane) (bool, error) {
	batch, err := admit(batch, p.s.Pos)
	p.s.applyAll(batch, lane)
	if p.sealer != nil {
		p.sealer.add(batch)
	}
	return len(batch) > 0, err
}

// showLocked makes the applied events whole for readers: the covers lane
// has caught up, the series are settled, and waiters are woken.
func (p *Projector) showLocked(lane *coverLane, applied bool) {
	if lane != nil {
		lane.join()
	}
	p.s.settleOpened()
	if applied {
		close(p.advanced)
		p.advanced = make(chan struct{})
		if p.s.dirty != nil {
			p.nudge()
		}
	}
}

// admit returns the events of a batch to apply after position pos: those
// past it, up to the first that failed to decode or does not follow the
// one before, with that event's error.
func admit(batch []decoded, pos uint64) ([]decoded, error) {
	lo := 0
	for lo < len(batch) && batch[lo].env.Pos <= pos {
		lo++
	}
	for i := lo; i < len(batch); i++ {
		b := &batch[i]
		if b.err != nil {
			return batch[lo:i], fmt.Errorf("projections: event at %d: %w", b.env.Pos, b.err)
		}
		if b.env.Pos != pos+1 {
			// The views number events by position (eventInfo): a gap would
			// shift every later event.
			return batch[lo:i], fmt.Errorf("projections: event at %d after %d: %w", b.env.Pos, pos, ErrPositionGap)
		}
		pos++
	}
	return batch[lo:], nil
}
