package writer_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/eventstore/memory"
	"github.com/hrss-ledger/ledger/eventstore/replay"
	"github.com/hrss-ledger/ledger/eventstore/writer"
)

var snapshotSeed = flag.Uint64("snapshot-seed", 0, "replay the snapshot property test with this one seed (0: the fixed seeds)")

// Sizes of the random histories of the snapshot tests.
const (
	snapshotSeeds   = 8
	historyCommands = 120 // before the snapshot, and again after it
	trialCommands   = 200 // decided by both writers
	persons         = 12
)

// logRecorder keeps what the writer logs, so that a test can tell why a
// snapshot was not used.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}

func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// refusal returns the error of the last warning logged, nil if none was.
func (r *logRecorder) refusal() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	for _, rec := range r.records {
		if rec.Level < slog.LevelWarn {
			continue
		}
		err = errors.New(rec.Message)
		rec.Attrs(func(a slog.Attr) bool {
			if e, ok := a.Value.Any().(error); ok {
				err = e
			}
			return true
		})
	}
	return err
}

// openFrom opens a writer with a snapshot directory and a recorded log.
func openFrom(t *testing.T, store eventstore.Store, dir string) (*writer.Writer, *logRecorder) {
	t.Helper()
	rec := &logRecorder{}
	w, err := writer.Open(testContext(t), store, writer.WithSnapshotDir(dir), writer.WithLogger(slog.New(rec)))
	if err != nil {
		t.Fatalf("writer.Open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w, rec
}

// randomCommand returns a command over small pools of people and payments,
// so that many are accepted and many refused.
func randomCommand(r *rand.Rand) domain.Command {
	payment := fmt.Sprintf("P-%d", r.IntN(60))
	switch r.IntN(8) {
	case 0:
		return register(1+r.IntN(persons), []byte("sealed"))
	case 1:
		return allocate(fmt.Sprintf("%d.%02d", r.IntN(5000), r.IntN(100)))
	case 2, 3:
		return domain.ReverseSubsidy{PaymentID: payment, Amount: yuan(fmt.Sprintf("%d", 1+r.IntN(400))), Date: day, Reason: "错发"}
	default:
		p := pay(payment, fmt.Sprintf("%d", 1+r.IntN(1500)))
		p.BeneficiaryID = register(r.IntN(persons+1), nil).BeneficiaryID
		return p
	}
}

// randomHistory executes n random commands, each with its own id.
func randomHistory(t *testing.T, w *writer.Writer, r *rand.Rand, prefix string, n int) {
	t.Helper()
	reqs := make([]writer.Request, n)
	for i := range reqs {
		reqs[i] = request(fmt.Sprintf("%s-%d", prefix, i), randomCommand(r))
	}
	for i, err := range errOf(w.ExecuteAll(testContext(t), reqs)) {
		var refusal *domain.Error
		if err != nil && !errors.As(err, &refusal) {
			t.Fatalf("command %s: %v", reqs[i].CommandID, err)
		}
	}
}

func errOf(_ []writer.Outcome, errs []error) []error { return errs }

// TestSnapshotAndTailDecideAsTheWholeLog writes a snapshot at Close, lets
// another writer append a tail, and opens a writer from the snapshot: it
// must decide every command as a writer that replayed the whole log does,
// retried commands from before and after the snapshot included.
// Replay one history with: go test ./eventstore/writer -run SnapshotAndTail -snapshot-seed N
func TestSnapshotAndTailDecideAsTheWholeLog(t *testing.T) {
	seeds := []uint64{*snapshotSeed}
	if *snapshotSeed == 0 {
		seeds = seeds[:0]
		for i := range uint64(snapshotSeeds) {
			seeds = append(seeds, 20170410+i)
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { snapshotAndTail(t, seed) })
	}
}

func snapshotAndTail(t *testing.T, seedValue uint64) {
	r := rand.New(rand.NewPCG(seedValue, seedValue))
	store, dir := snapshotThenTail(t, r)
	restored, rec := openFrom(t, store, dir)
	replayed := open(t, store)

	if err := rec.refusal(); err != nil {
		t.Fatalf("snapshot not used: %v", err)
	}
	if got, want := restored.Head(), head(t, store); got != want {
		t.Fatalf("head from the snapshot and tail = %d, want %d", got, want)
	}
	// Retried commands from before the snapshot and from the tail come first.
	retried := []writer.Request{request("before-3", randomCommand(r)), request("tail-5", randomCommand(r))}
	sameDecisions(t, restored, replayed, r, retried...)
}

// snapshotThenTail writes a random history and a snapshot of it (at
// Close) into dir, then a random tail that the snapshot lacks.
func snapshotThenTail(t *testing.T, r *rand.Rand) (*memory.Store, string) {
	t.Helper()
	store, dir := memory.New(), t.TempDir()
	first, _ := openFrom(t, store, dir)
	seed(t, first, "20000")
	randomHistory(t, first, r, "before", historyCommands)
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	randomHistory(t, open(t, store), r, "tail", historyCommands)
	return store, dir
}

// sameDecisions dry-runs the same random commands on two writers and fails
// the test where they decide differently.
func sameDecisions(t *testing.T, got, want *writer.Writer, r *rand.Rand, first ...writer.Request) {
	t.Helper()
	trial := append([]writer.Request{}, first...)
	for i := range trialCommands {
		trial = append(trial, request(fmt.Sprintf("trial-%d", i), randomCommand(r)))
	}
	gotErrs, err := got.DryRun(testContext(t), trial)
	if err != nil {
		t.Fatalf("DryRun: %v", err)
	}
	wantErrs, err := want.DryRun(testContext(t), trial)
	if err != nil {
		t.Fatalf("DryRun: %v", err)
	}
	accepted := 0
	for i := range trial {
		if fmt.Sprint(gotErrs[i]) != fmt.Sprint(wantErrs[i]) {
			t.Errorf("command %d %T: got %v, from the whole log %v", i, trial[i].Command, gotErrs[i], wantErrs[i])
		}
		if wantErrs[i] == nil {
			accepted++
		}
	}
	if accepted < len(trial)/10 || accepted > len(trial)*9/10 {
		t.Errorf("%d of %d trial commands accepted: the history no longer exercises the rules", accepted, len(trial))
	}
}

// A retried command is found after a restart from a snapshot: the store,
// not the snapshot, remembers command ids.
func TestIdempotencyAfterRestartFromSnapshot(t *testing.T) {
	dir, snapshots := t.TempDir(), t.TempDir()
	store := openJetStream(t, dir)
	w, _ := openFrom(t, store, snapshots)
	seed(t, w, "100")
	first, err := w.Execute(testContext(t), request("c1", pay("P-1", "40")))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	w.Close()
	store.Close()

	store = openJetStream(t, dir)
	w, rec := openFrom(t, store, snapshots)
	if err := rec.refusal(); err != nil {
		t.Fatalf("snapshot not used: %v", err)
	}
	again, err := w.Execute(testContext(t), request("c1", pay("P-1", "40")))
	if err != nil {
		t.Fatalf("Execute after restart: %v", err)
	}
	checkDuplicate(t, again, first)
	if _, err := w.Execute(testContext(t), request("c2", pay("P-2", "61"))); !errors.Is(err, domain.ErrFundOverdrawn) {
		t.Errorf("overdraft after restart: %v, want %v", err, domain.ErrFundOverdrawn)
	}
}

// A snapshot the log does not vouch for is not used: the writer says why
// and replays the whole log instead.
func TestSnapshotRefusals(t *testing.T) {
	tests := []struct {
		name string
		// spoil changes the snapshot at path written over log a; it returns
		// the store to open the writer on.
		spoil func(t *testing.T, path string, a *memory.Store) eventstore.Store
		want  error
	}{
		{"a snapshot whose checksum does not hold", func(t *testing.T, path string, a *memory.Store) eventstore.Store {
			rewrite(t, path, func(b []byte) { b[len(b)/2] ^= 0x40 })
			return a
		}, writer.ErrSnapshotChecksum},
		{"a snapshot of an older format version", func(t *testing.T, path string, a *memory.Store) eventstore.Store {
			rewrite(t, path, func(b []byte) {
				binary.BigEndian.PutUint32(b[len("LDGRWSNP"):], 0)
				reseal(b)
			})
			return a
		}, writer.ErrSnapshotFormat},
		{"a snapshot of a longer log", func(t *testing.T, path string, a *memory.Store) eventstore.Store {
			b := memory.New()
			seed(t, open(t, b), "100")
			return b
		}, writer.ErrSnapshotAhead},
		{"a snapshot of another log with an event at the position", func(t *testing.T, path string, a *memory.Store) eventstore.Store {
			b := memory.New()
			w := open(t, b)
			seed(t, w, "100")
			randomHistory(t, w, rand.New(rand.NewPCG(2, 2)), "other", 2*historyCommands)
			return b
		}, writer.ErrSnapshotFork},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is not used", func(t *testing.T) {
			a, dir := memory.New(), t.TempDir()
			w, _ := openFrom(t, a, dir)
			seed(t, w, "100")
			randomHistory(t, w, rand.New(rand.NewPCG(1, 1)), "c", historyCommands)
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			store := tt.spoil(t, filepath.Join(dir, writer.SnapshotFile), a)

			w, rec := openFrom(t, store, dir)

			if err := rec.refusal(); !errors.Is(err, tt.want) {
				t.Errorf("refusal %v, want %v", err, tt.want)
			}
			if got, want := w.Head(), head(t, store); got != want {
				t.Errorf("head %d, want the log's %d", got, want)
			}
			sameDecisions(t, w, open(t, store), rand.New(rand.NewPCG(3, 3)))
		})
	}
}

// rewrite changes a file's bytes in place.
func rewrite(t *testing.T, path string, change func([]byte)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	change(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// reseal recomputes the checksum at the end of a snapshot's bytes.
func reseal(b []byte) {
	sum := sha256.Sum256(b[:len(b)-sha256.Size])
	copy(b[len(b)-sha256.Size:], sum[:])
}

// A writer may read from the log past what its store has folded in (two
// processes on one stream): a command it caught up to there must still be
// answered as a duplicate when retried, though its store does not know it yet.
func TestRetryOfACommandCaughtUpPastTheStore(t *testing.T) {
	sa := openJetStream(t, t.TempDir(), jetstream.WithPort(-1))
	sb, err := jetstream.Connect(testContext(t), sa.ClientURL())
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	wa := open(t, sa)
	seed(t, wa, "100")
	wb := open(t, sb)
	first, err := wa.Execute(testContext(t), request("x1", allocate("7")))
	if err != nil {
		t.Fatalf("Execute on a: %v", err)
	}
	// Refused on b's stale state, b catches up from the log and refuses
	// again; b's store has appended nothing, so it has not caught up.
	if _, err := wb.Execute(testContext(t), request("big", pay("P-big", "1000000"))); err == nil {
		t.Fatal("a payment over the program's maximum was accepted")
	}
	if known, h := sb.CommandsKnown(), wb.Head(); known >= h {
		t.Fatalf("store b knows commands up to %d, writer b is at %d: the case is not set up", known, h)
	}

	again, err := wb.Execute(testContext(t), request("x1", allocate("7")))

	if err != nil {
		t.Fatalf("retry on b: %v", err)
	}
	checkDuplicate(t, again, first)
	if got := fundBalance(t, readLog(t, sa)); !got.Equal(yuan("107")) {
		t.Errorf("fund balance = %s, want 107", got)
	}
}

// forgetful is the real memory store with one fault injected: it answers
// command lookups as though it knew no command, while claiming to know them
// all, so that the writer takes a retried command for a new one.
type forgetful struct{ *memory.Store }

func (forgetful) LookupCommand(string) (eventstore.CommandEntry, bool) {
	return eventstore.CommandEntry{}, false
}

// If the store ever finds a duplicate the writer missed, the writer's state
// is rebuilt from the log and the command answered as the duplicate it is:
// its effects are not counted twice.
func TestADuplicateTheStoreFindsIsNotCountedTwice(t *testing.T) {
	store := forgetful{memory.New()}
	w := open(t, store)
	seed(t, w, "100")
	first, err := w.Execute(testContext(t), request("x1", allocate("7")))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}

	again, err := w.Execute(testContext(t), request("x1", allocate("7")))

	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	checkDuplicate(t, again, first)
	if got := fundBalance(t, readLog(t, store)); !got.Equal(yuan("107")) {
		t.Errorf("fund balance in the log = %s, want 107", got)
	}
	errs, err := w.DryRun(testContext(t), []writer.Request{request("over", pay("P-1", "107.01")), request("all", pay("P-2", "107"))})
	if err != nil {
		t.Fatalf("DryRun: %v", err)
	}
	if !errors.Is(errs[0], domain.ErrFundOverdrawn) || errs[1] != nil {
		t.Errorf("paying 107.01 then 107 from the writer's state: %v; want overdrawn, then accepted", errs)
	}
}

// A start that replayed a long log writes a snapshot before it takes its
// first command, so that the next start does not replay it all again even
// if this process is killed.
func TestALongReplayIsSnapshotAtOpen(t *testing.T) {
	store, dir := memory.New(), t.TempDir()
	w := open(t, store)
	seed(t, w, "20000")
	randomHistory(t, w, rand.New(rand.NewPCG(4, 4)), "c", historyCommands)
	tests := []struct {
		name  string
		after uint64
		want  bool
	}{
		{"a replay of fewer events than the threshold writes nothing", head(t, store), false},
		{"a replay of more events than the threshold writes a snapshot", head(t, store) - 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := writer.Open(testContext(t), store, writer.WithSnapshotDir(dir), writer.WithSnapshotAfter(tt.after))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			// The sequencer writes it before it takes its first command.
			if _, err := w.Applied(testContext(t), "c-1"); err != nil {
				t.Fatal(err)
			}
			_, statErr := os.Stat(filepath.Join(dir, writer.SnapshotFile))
			if got := statErr == nil; got != tt.want {
				t.Errorf("snapshot written at Open: %v, want %v (%v)", got, tt.want, statErr)
			}
			// Closing writes one in any case: remove it for the next case.
			w.Close()
			if err := os.Remove(filepath.Join(dir, writer.SnapshotFile)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A snapshot that cannot be written makes Close fail and say so, and
// changes nothing else: the log has every command.
func TestCloseSaysWhenTheSnapshotCannotBeWritten(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	w, rec := openFrom(t, store, notADir)
	seed(t, w, "100")

	err := w.Close()

	if err == nil {
		t.Fatal("Close wrote a snapshot into a file")
	}
	if logged := rec.refusal(); logged != err {
		t.Errorf("logged %v, want the error Close returned", logged)
	}
	if got := fundBalance(t, readLog(t, store)); !got.Equal(yuan("100")) {
		t.Errorf("fund balance = %s, want 100", got)
	}
}

// snapshotPosition returns the position a snapshot file records, 0 if there is none.
func snapshotPosition(t *testing.T, dir string) eventstore.Position {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, writer.SnapshotFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint64(b[len("LDGRWSNP")+4:])
}

// While commands are appended, snapshots are rebuilt beside the sequencer:
// a process killed without Close restarts from a recent one.
func TestPeriodicSnapshotsAreRebuiltBesideTheSequencer(t *testing.T) {
	const every = 40
	store, dir := memory.New(), t.TempDir()
	rec := &logRecorder{}
	w, err := writer.Open(testContext(t), store, writer.WithSnapshotDir(dir), writer.WithLogger(slog.New(rec)),
		writer.WithSnapshotEvery(every))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	seed(t, w, "20000")
	r := rand.New(rand.NewPCG(5, 5))
	for round := 0; snapshotPosition(t, dir) < 2*every; round++ {
		if round == 100 {
			t.Fatalf("no snapshot past %d after %d rounds (head %d; log: %v)", 2*every, round, w.Head(), rec.refusal())
		}
		randomHistory(t, w, r, fmt.Sprintf("r%d", round), 20)
		time.Sleep(10 * time.Millisecond) // the rebuild runs on its own goroutine
	}
	if err := rec.refusal(); err != nil {
		t.Fatalf("warned: %v", err)
	}

	// A second process on the same log, as after a crash of the first.
	restored, restoredLog := openFrom(t, store, dir)

	if err := restoredLog.refusal(); err != nil {
		t.Fatalf("snapshot not used: %v", err)
	}
	sameDecisions(t, restored, open(t, store), r)
}

// TestASharedReadDecidesAsItsOwnRead opens writers through a read shared
// with another member (replay.Feed, as serve shares it with the views):
// one from nothing, one from a snapshot while the other member starts at
// 0. Each takes no event from its own reads but the snapshot's anchor, and
// decides every command as a writer that read the log itself.
func TestASharedReadDecidesAsItsOwnRead(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	store, dir := snapshotThenTail(t, r)
	for _, snapshots := range []string{t.TempDir(), dir} {
		feed := replay.NewFeed(store)
		share, other := feed.Join(nil), feed.Join(nil)
		otherRead := make(chan error, 1)
		go func() { otherRead <- other.Read(testContext(t), 0, func(replay.Batch) error { return nil }) }()
		rec := &logRecorder{}
		own := &countingReads{Store: store}
		shared, err := writer.Open(testContext(t), own, writer.WithSnapshotDir(snapshots),
			writer.WithLogger(slog.New(rec)), writer.WithReplay(share))
		if err != nil {
			t.Fatalf("writer.Open: %v", err)
		}
		t.Cleanup(func() { shared.Close() })
		if err := rec.refusal(); err != nil {
			t.Fatalf("snapshot refused: %v", err)
		}
		if n := own.delivered.Load(); n > 1 {
			t.Errorf("the writer read %d events itself", n)
		}
		if err := <-otherRead; err != nil {
			t.Fatalf("the other member's read: %v", err)
		}
		if got, want := shared.Head(), head(t, store); got != want {
			t.Fatalf("head after a shared read = %d, want %d", got, want)
		}
		retried := []writer.Request{request("before-3", randomCommand(r)), request("tail-5", randomCommand(r))}
		sameDecisions(t, shared, open(t, store), r, retried...)
	}
}

// countingReads is a store that counts the events its reads deliver.
type countingReads struct {
	*memory.Store
	delivered atomic.Int64
}

func (c *countingReads) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	return c.Store.Read(ctx, after, func(e eventstore.Event) error {
		c.delivered.Add(1)
		return fn(e)
	})
}

// TestCloseKeepsASnapshotOfTheSameState: a writer restored from a snapshot
// and closed with nothing appended leaves the file as it is; one that
// appended writes a new one.
func TestCloseKeepsASnapshotOfTheSameState(t *testing.T) {
	store, dir := memory.New(), t.TempDir()
	first, _ := openFrom(t, store, dir)
	seed(t, first, "100")
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	written := func(rec *logRecorder) int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := 0
		for _, r := range rec.records {
			if r.Message == "writer: snapshot written" {
				n++
			}
		}
		return n
	}
	idle, rec := openFrom(t, store, dir)
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if n := written(rec); n != 0 {
		t.Errorf("a close with nothing new wrote %d snapshots", n)
	}
	busy, rec := openFrom(t, store, dir)
	randomHistory(t, busy, rand.New(rand.NewPCG(9, 9)), "more", 40)
	if err := busy.Close(); err != nil {
		t.Fatal(err)
	}
	if n := written(rec); n != 1 {
		t.Errorf("a close after appending wrote %d snapshots, want 1", n)
	}
}
