package projections

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/memory"
	"github.com/hrss-ledger/ledger/eventstore/replay"
)

// appendHistory appends commands [from, to) of a history to a store.
func appendHistory(tb testing.TB, s eventstore.Store, history [][]domain.Event, from, to int) {
	tb.Helper()
	for i := from; i < to; i++ {
		if _, err := s.Append(context.Background(), commit(i, history[i]...)); err != nil {
			tb.Fatal(err)
		}
	}
}

// running starts p.Run on a log and returns a stop function that waits for it.
func running(tb testing.TB, p *Projector, log Log) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, log) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("run: %v", err)
		}
	}
}

func waitHead(tb testing.TB, p *Projector, s eventstore.Store) {
	tb.Helper()
	head, err := s.Head(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.WaitFor(ctx, head); err != nil {
		tb.Fatal(err)
	}
}

// allViews renders every view, with positions, plus some histories.
func allViews(tb testing.TB, p *Projector, history [][]domain.Event) string {
	tb.Helper()
	out := everyView(tb, p, "", loanIDs(history))
	for _, a := range []string{"fund:EMP", "fund:GUA", "bank:ABC", "beneficiary:B3"} {
		h, err := p.History(a, "", "")
		data, _ := json.Marshal(h)
		out += string(data) + errText(err)
	}
	return out
}

func TestLiveEqualsRebuilt(t *testing.T) {
	history := randomHistory(11, 600)
	store := memory.New()
	live, err := New(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, live, store)
	for i := 0; i < len(history); i += 50 {
		appendHistory(t, store, history, i, min(i+50, len(history)))
	}
	waitHead(t, live, store)
	stop()
	rebuilt := project(t, store)
	if got, want := allViews(t, live, history), allViews(t, rebuilt, history); got != want {
		t.Fatalf("live differs from rebuilt:\ngot  %s\nwant %s", firstDiff(got, want), firstDiff(want, got))
	}
}

// redelivering is a log that, like an at-least-once transport, delivers
// again some events the subscriber already had.
type redelivering struct {
	*memory.Store
	again uint64
}

func (r redelivering) Subscribe(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	return r.Store.Subscribe(ctx, after-min(after, r.again), fn)
}

func (r redelivering) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	return r.Store.Read(ctx, after-min(after, r.again), fn)
}

func TestRestartInTheMiddle(t *testing.T) {
	history := randomHistory(12, 600)
	store := memory.New()
	dir := t.TempDir()
	first, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, first, store)
	appendHistory(t, store, history, 0, 300)
	waitHead(t, first, store)
	stop()
	checkpoint := first.Position()
	appendHistory(t, store, history, 300, 450)

	second, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the snapshot brings the checkpoint back", func(t *testing.T) {
		if got := second.Position(); got != checkpoint {
			t.Errorf("got position %d after restart, want %d", got, checkpoint)
		}
	})
	stop = running(t, second, redelivering{Store: store, again: 25})
	appendHistory(t, store, history, 450, len(history))
	waitHead(t, second, store)
	stop()
	t.Run("no gap and no double count against a rebuild", func(t *testing.T) {
		rebuilt := project(t, store)
		if got, want := allViews(t, second, history), allViews(t, rebuilt, history); got != want {
			t.Fatalf("restarted differs from rebuilt:\ngot  %s\nwant %s", firstDiff(got, want), firstDiff(want, got))
		}
	})
}

func TestSnapshotOfAnotherLogIsDiscarded(t *testing.T) {
	dir := t.TempDir()
	a := memory.New()
	appendHistory(t, a, randomHistory(21, 100), 0, 100)
	p, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, p, a)
	waitHead(t, p, a)
	stop()
	b := memory.New()
	history := randomHistory(22, 300)
	appendHistory(t, b, history, 0, len(history))
	restarted, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	stop = running(t, restarted, b)
	waitHead(t, restarted, b)
	stop()
	if got, want := allViews(t, restarted, history), allViews(t, project(t, b), history); got != want {
		t.Fatalf("views over another log's snapshot:\ngot  %s\nwant %s", firstDiff(got, want), firstDiff(want, got))
	}
}

func TestCorruptSnapshotRebuilds(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, snapshotFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Position(); got != 0 {
		t.Errorf("got position %d from a corrupt snapshot, want 0", got)
	}
}

func TestSnapshotOfAnEarlierFormatRebuilds(t *testing.T) {
	for _, magic := range []string{"ledger-views-v1\n", "ledger-views-v2\n", "ledger-views-v3\n", "ledger-views-v4\n", "ledger-views-v5\n", "ledger-views-v6\n"} {
		t.Run("a snapshot opening with "+strings.TrimSpace(magic)+" is discarded", func(t *testing.T) {
			dir := t.TempDir()
			log := memory.New()
			appendHistory(t, log, randomHistory(23, 50), 0, 50)
			p, err := New(Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.CatchUp(context.Background(), log); err != nil {
				t.Fatal(err)
			}
			if err := p.Snapshot(); err != nil {
				t.Fatal(err)
			}
			// The same body under an earlier version's heading: its layout
			// differs, so it must not be read at all.
			path := filepath.Join(dir, snapshotFile)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data = append([]byte(magic), data[len(snapshotMagic):]...)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			reopened, err := New(Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if got := reopened.Position(); got != 0 {
				t.Errorf("got position %d from a snapshot of an earlier format, want 0", got)
			}
		})
	}
}

func TestWaitForTimesOut(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := p.WaitFor(ctx, 1); err == nil {
		t.Errorf("got no error waiting for a position never reached, want ErrWaitTimeout")
	}
}

func TestSubscribeDeliversChanges(t *testing.T) {
	b := ankang(t)
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	stop := running(t, p, b.store)
	defer stop()
	waitHead(t, p, b.store)
	changes, cancel := p.Subscribe([]string{"funds"}, "610900")
	defer cancel()
	b.command(domain.AllocateFund{FundID: "EMP", Amount: money("250"), Date: date("2018-01-02"), Document: "doc"})
	select {
	case c := <-changes:
		var f domain.FundReport
		if err := json.Unmarshal(c.Data, &f); err != nil {
			t.Fatal(err)
		}
		if c.Subject() != "ledger.views.funds.EMP" || f.Allocated != "1000250.00" {
			t.Errorf("got %s %s, want ledger.views.funds.EMP with allocated 1000250.00", c.Subject(), f.Allocated)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change delivered within 5s")
	}
}

func TestGapInPositionsIsRefused(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	at := func(pos uint64) decoded {
		return decoded{env: envelope{Pos: pos, Type: domain.TypeCheckpointRecorded, Day: minDay}}
	}
	if err := p.applyBatch([]decoded{at(1), at(2)}); err != nil {
		t.Fatalf("positions 1, 2: %v", err)
	}
	err = p.applyBatch([]decoded{at(4)})
	if !errors.Is(err, ErrPositionGap) {
		t.Errorf("got %v after a gap, want ErrPositionGap", err)
	}
	if got := p.Position(); got != 2 {
		t.Errorf("got position %d after a refused gap, want 2", got)
	}
}

// TestSharedReadEqualsOwnRead runs the views from a read shared with
// another member (replay.Feed, as serve shares it with the writer): once
// from nothing, and once from a snapshot while the other member starts at
// 0, so the views see only the events after their own position. Both equal
// a rebuild that reads and decodes on its own.
func TestSharedReadEqualsOwnRead(t *testing.T) {
	history := randomHistory(13, 600)
	store := memory.New()
	appendHistory(t, store, history, 0, 300)
	dir := t.TempDir()
	for _, round := range []struct{ name string }{{"from nothing"}, {"from a snapshot"}} {
		t.Run(round.name, func(t *testing.T) {
			feed := replay.NewFeed(store)
			share, other := feed.Join(Reads), feed.Join(nil)
			otherSaw := make(chan eventstore.Position, 1)
			go func() {
				first := eventstore.Position(0)
				other.Read(context.Background(), 0, func(b replay.Batch) error {
					first = cmp.Or(first, b.Events[0].Position)
					return nil
				})
				otherSaw <- first
			}()
			p, err := New(Config{Dir: dir, Replay: share})
			if err != nil {
				t.Fatal(err)
			}
			if fromSnapshot := p.Position() > 0; fromSnapshot != (round.name == "from a snapshot") {
				t.Fatalf("starts at %d", p.Position())
			}
			own := &counting{Store: store}
			stop := running(t, p, own)
			waitHead(t, p, store)
			stop()
			if n := own.delivered.Load(); n > 1 { // the snapshot's anchor event, read to check it
				t.Errorf("the views read %d events themselves", n)
			}
			if first := <-otherSaw; first != 1 {
				t.Errorf("the other member's read began at %d, want 1", first)
			}
			if got, want := allViews(t, p, history), allViews(t, project(t, store), history); got != want {
				t.Fatalf("shared read differs from own read:\ngot  %s\nwant %s", firstDiff(got, want), firstDiff(want, got))
			}
		})
		appendHistory(t, store, history, 300, len(history)) // the second round starts from the first's snapshot
	}
}

// counting is a log that counts the events its reads deliver.
type counting struct {
	*memory.Store
	delivered atomic.Int64
}

func (c *counting) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	return c.Store.Read(ctx, after, func(e eventstore.Event) error {
		c.delivered.Add(1)
		return fn(e)
	})
}

// TestAStoppedRebuildKeepsWhatItApplied stops the views half way through
// their first catch-up, fed by a shared read that another member holds
// back (it takes its first run and no more, so the read can run only so
// far ahead of it): the snapshot written as they stop holds what they
// applied, and the next start goes on from there.
func TestAStoppedRebuildKeepsWhatItApplied(t *testing.T) {
	history := randomHistory(15, 10000) // far more events than the read may run ahead
	store := memory.New()
	appendHistory(t, store, history, 0, len(history))
	dir := t.TempDir()
	feed := replay.NewFeed(store)
	share, other := feed.Join(Reads), feed.Join(nil)
	release := make(chan struct{})
	go func() {
		other.Read(context.Background(), 0, func(replay.Batch) error {
			<-release
			return nil
		})
	}()
	p, err := New(Config{Dir: dir, Replay: share})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, store) }()
	for deadline := time.Now().Add(10 * time.Second); p.Position() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the views applied nothing")
		}
	}
	cancel()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	head, _ := store.Head(context.Background())
	stoppedAt := p.Position()
	if stoppedAt == 0 || stoppedAt >= head {
		t.Fatalf("stopped at %d of %d: not half way", stoppedAt, head)
	}
	again, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Position(); got != stoppedAt {
		t.Fatalf("the next start begins at %d, want %d", got, stoppedAt)
	}
	stop := running(t, again, store)
	waitHead(t, again, store)
	stop()
	if got, want := allViews(t, again, history), allViews(t, project(t, store), history); got != want {
		t.Fatalf("resumed rebuild differs:\ngot  %s\nwant %s", firstDiff(got, want), firstDiff(want, got))
	}
}

// TestQueryDuringCatchUp: a catch-up holds the write lock over many runs,
// but lets a waiting query in after the run it is applying.
func TestQueryDuringCatchUp(t *testing.T) {
	_, store := sealedHistory(t, 38)
	events := decodedLog(t, store)
	p, _ := New(Config{})
	c, end := p.startCatchUp()
	defer end()
	run := decodeBatchEvents
	if err := c.apply(events[:run]); err != nil {
		t.Fatal(err)
	}
	got := make(chan uint64)
	go func() { got <- p.Position() }()
	for !p.mu.readerWaits() {
		time.Sleep(time.Millisecond)
	}
	select {
	case pos := <-got:
		t.Fatalf("a query got in at %d while the catch-up held the lock", pos)
	case <-time.After(50 * time.Millisecond):
	}
	if err := c.apply(events[run : 2*run]); err != nil {
		t.Fatal(err)
	}
	select {
	case pos := <-got:
		if pos != uint64(2*run) {
			t.Errorf("the query got position %d, want %d", pos, 2*run)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the query waited past the run being applied")
	}
}
