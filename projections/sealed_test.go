package projections

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/eventstore/replay"
)

// testSegmentEvents is the segments' length in these tests: one run, so
// that a short log has several.
const testSegmentEvents = decodeBatchEvents

// sealedHistory is a log of several test segments and a part of one.
func sealedHistory(t *testing.T, seed uint64) ([][]domain.Event, eventstore.Store) {
	t.Helper()
	history := randomHistory(seed, 1500)
	store := storeOf(t, history, func(domain.Event) bool { return true })
	head, err := store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if head < 3*testSegmentEvents || head%testSegmentEvents == 0 {
		t.Fatalf("a log of %d events; the tests want three segments and a part", head)
	}
	return history, store
}

// sealedLog is a log of sealedHistory(seed) and a directory holding its
// segments, written by a catch-up.
func sealedLog(t *testing.T, seed uint64) (eventstore.Store, string) {
	t.Helper()
	_, store := sealedHistory(t, seed)
	dir := t.TempDir()
	writer, _ := sealedProjector(t, dir)
	catchUpTo(t, writer, store)
	return store, dir
}

// sealedProjector returns a projector keeping test segments in dir, and
// what it logs.
func sealedProjector(t *testing.T, dir string) (*Projector, *bytes.Buffer) {
	t.Helper()
	logged := &bytes.Buffer{}
	p, err := New(Config{Sealed: dir, Logger: slog.New(slog.NewTextHandler(logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	p.sealer.size = testSegmentEvents
	return p, logged
}

// catchUpTo brings p up to the head of r.
func catchUpTo(t *testing.T, p *Projector, r Reader) {
	t.Helper()
	if err := p.CatchUp(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

// segmentFiles lists the segments in dir.
func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

// sameState checks that two projectors, at rest, hold the same views: as
// rendered, and field by field of their state (but for the sum the covers
// lane keeps of its reads ahead, which depends on where its batches began,
// and for the changes a running projector has yet to publish).
func sameState(t *testing.T, got, want *Projector) {
	t.Helper()
	for _, p := range []*Projector{got, want} {
		if err := p.s.completeIndexes(); err != nil {
			t.Fatal(err)
		}
	}
	sameViews(t, "sealed", got, want)
	got.s.warmed, want.s.warmed = 0, 0
	got.s.warmedMain, want.s.warmedMain = 0, 0
	got.s.dirty, want.s.dirty = nil, nil
	got.s.mainRegions, want.s.mainRegions = regionCache{}, regionCache{}
	got.s.coverRegions, want.s.coverRegions = regionCache{}, regionCache{}
	got.s.coverInds, want.s.coverInds = stringCache[uint8]{}, stringCache[uint8]{}
	if !reflect.DeepEqual(got.s, want.s) {
		t.Fatalf("the state differs")
	}
}

func TestRebuildFromSealedSegments(t *testing.T) {
	_, store := sealedHistory(t, 31)
	fromLog := project(t, store)
	head := fromLog.Position()

	dir := t.TempDir()
	first, _ := sealedProjector(t, dir)
	catchUpTo(t, first, store)
	files := segmentFiles(t, dir)
	if got, want := len(files), int(head/testSegmentEvents); got != want {
		t.Fatalf("got %d segments sealed for %d events, want %d", got, head, want)
	}
	t.Run("a rebuild that writes the segments equals one from the log", func(t *testing.T) {
		sameState(t, first, fromLog)
	})
	t.Run("a rebuild from the segments reads them and equals one from the log", func(t *testing.T) {
		again, logged := sealedProjector(t, dir)
		catchUpTo(t, again, store)
		want := "events=" + strconv.Itoa(len(files)*testSegmentEvents)
		if !strings.Contains(logged.String(), want) {
			t.Fatalf("got log %q, want the segments' %s applied", logged.String(), want)
		}
		sameState(t, again, fromLog)
	})
	t.Run("segments written live, one event at a time, are the same bytes", func(t *testing.T) {
		liveDir := t.TempDir()
		live, _ := sealedProjector(t, liveDir)
		err := store.Read(context.Background(), 0, func(e eventstore.Event) error {
			return live.applyBatch([]decoded{decode(&e, nil)})
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			got, err := os.ReadFile(filepath.Join(liveDir, filepath.Base(name)))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := os.ReadFile(name)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs from the catch-up's", filepath.Base(name))
			}
		}
	})
}

func TestDamagedSealedSegments(t *testing.T) {
	_, store := sealedHistory(t, 32)
	fromLog := project(t, store)
	_, otherStore := sealedHistory(t, 33)
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string, files []string)
		log    eventstore.Store
	}{
		{"a segment with a flipped byte", func(t *testing.T, _ string, files []string) {
			flipByte(t, files[1], 100)
		}, store},
		{"a segment cut short", func(t *testing.T, _ string, files []string) {
			if err := os.Truncate(files[1], 1000); err != nil {
				t.Fatal(err)
			}
		}, store},
		{"a segment of another position", func(t *testing.T, _ string, files []string) {
			data, _ := os.ReadFile(files[2])
			if err := os.WriteFile(files[1], data, 0o644); err != nil {
				t.Fatal(err)
			}
		}, store},
		{"segments of another log", func(t *testing.T, dir string, _ []string) {
			other, _ := sealedProjector(t, t.TempDir())
			other.sealer.dir = dir
			for _, f := range segmentFiles(t, dir) {
				os.Remove(f)
			}
			catchUpTo(t, other, otherStore)
		}, store},
	}
	for _, tc := range cases {
		t.Run(tc.name+" is dropped with those after it, and the rebuild reads the log", func(t *testing.T) {
			dir := t.TempDir()
			first, _ := sealedProjector(t, dir)
			catchUpTo(t, first, tc.log)
			files := segmentFiles(t, dir)
			tc.damage(t, dir, files)

			again, logged := sealedProjector(t, dir)
			catchUpTo(t, again, store)
			if !strings.Contains(logged.String(), "sealed segments dropped") {
				t.Errorf("got log %q, want the segments dropped", logged.String())
			}
			sameState(t, again, fromLog)
			rewritten := segmentFiles(t, dir)
			if len(rewritten) != len(files) {
				t.Fatalf("got %d segments after the rebuild, want %d written again", len(rewritten), len(files))
			}
			third, _ := sealedProjector(t, dir)
			catchUpTo(t, third, store)
			sameState(t, third, fromLog)
		})
	}
}

// TestSealedSegmentsAfterASnapshot: a projector that starts from a
// snapshot in the middle of a segment reads the segments after it, and
// seals nothing it did not see whole.
func TestSealedSegmentsAfterASnapshot(t *testing.T) {
	store, dir := sealedLog(t, 34)
	const snapshotAt = 2*testSegmentEvents + 100

	resumed, logged := sealedProjector(t, dir)
	resumed.s = prefix(t, store, snapshotAt).s
	catchUpTo(t, resumed, store)
	if !strings.Contains(logged.String(), "applied sealed segments") {
		t.Errorf("got log %q, want segments applied", logged.String())
	}
	sameState(t, resumed, project(t, store))

	fresh := t.TempDir()
	sealing, _ := sealedProjector(t, fresh)
	sealing.s = prefix(t, store, snapshotAt).s
	catchUpTo(t, sealing, store)
	if got, want := len(segmentFiles(t, fresh)), len(segmentFiles(t, dir))-snapshotAt/testSegmentEvents-1; got != want {
		t.Errorf("got %d segments sealed after a snapshot at %d, want %d", got, snapshotAt, want)
	}
}

// prefix returns the views of the log's first n events.
func prefix(t *testing.T, r Reader, n uint64) *Projector {
	t.Helper()
	p := project(t, upTo{r, n})
	if p.Position() != n {
		t.Fatalf("got views at %d, want %d", p.Position(), n)
	}
	return p
}

func flipByte(t *testing.T, name string, at int64) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

// upTo is a log read only up to position n.
type upTo struct {
	Reader
	n uint64
}

var errPastEnd = errors.New("past the end")

func (u upTo) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	err := u.Reader.Read(ctx, after, func(e eventstore.Event) error {
		if e.Position > u.n {
			return errPastEnd
		}
		return fn(e)
	})
	if errors.Is(err, errPastEnd) {
		return nil
	}
	return err
}

// TestWrongHints: account and person numbers that are wrong (a damaged or
// foreign segment that passed its checks) cost lookups, never a posting to
// another account nor a placement counted for another person: applied one
// event at a time (the live path) and in runs on both lanes (a catch-up).
func TestWrongHints(t *testing.T) {
	_, store := sealedHistory(t, 35)
	want := project(t, store)
	events := trueHints(t, store)
	// Random numbers, but never the next one where it is wrong: a hint
	// that opens an account or a person is taken without a lookup, and is
	// checked at the end of the segments instead (TestMisnumberedSegments).
	rng := rand.New(rand.NewPCG(35, 0))
	var accounts, persons, loans numbering
	for k := range events {
		h := &events[k].hints
		for i := range h.accounts {
			h.accounts[i] = accounts.wrong(rng, h.accounts[i], int32(want.s.Accounts.N+2))
		}
		h.person = persons.wrong(rng, h.person, int32(len(want.s.Persons)+2))
		h.loan = loans.wrong(rng, h.loan, int32(len(want.s.loanList)+2))
	}
	t.Run("one event at a time", func(t *testing.T) {
		got, _ := New(Config{})
		for _, d := range events {
			if err := got.applyBatch([]decoded{d}); err != nil {
				t.Fatal(err)
			}
		}
		sameState(t, got, want)
	})
	t.Run("in runs on both lanes", func(t *testing.T) {
		got, _ := New(Config{})
		c, end := got.startCatchUp()
		for i := 0; i < len(events); i += decodeBatchEvents {
			run := slices.Clone(events[i:min(i+decodeBatchEvents, len(events))])
			if err := c.apply(run); err != nil {
				t.Fatal(err)
			}
		}
		end()
		sameState(t, got, want)
	})
}

// decodedLog returns the events of r, decoded.
func decodedLog(t *testing.T, r Reader) []decoded {
	t.Helper()
	var events []decoded
	err := r.Read(context.Background(), 0, func(e eventstore.Event) error {
		events = append(events, decode(&e, nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// trueHints returns the events of r with the hints a catch-up records.
func trueHints(t *testing.T, r Reader) []decoded {
	t.Helper()
	events := decodedLog(t, r)
	p, _ := New(Config{})
	for k := range events {
		if err := p.applyBatch(events[k : k+1]); err != nil {
			t.Fatal(err)
		}
	}
	return events
}

// numbering follows the numbers that true hints open, in log order: the
// next one (0 to start with, for persons and accounts alike) opens the
// person or account it names.
type numbering struct{ next int32 }

// wrong returns a random hint below limit for the true hint h, but never
// the next number unless h is it.
func (n *numbering) wrong(rng *rand.Rand, h, limit int32) int32 {
	opens := h > 0 && h > n.next
	if opens {
		n.next = h
	}
	for {
		r := rng.Int32N(limit)
		if r != n.next+1 || opens {
			return r
		}
	}
}

// TestMisnumberedSegments: a segment whose hints open a person or an
// account that exists (numbered from another state than the one reading
// it) is found out when the indexes are completed; the views then start
// again from the log, and the segments are written again.
func TestMisnumberedSegments(t *testing.T) {
	store, written := sealedLog(t, 37)
	want := project(t, store)
	cases := []struct {
		name  string
		forge func(d *decoded, seen *int32) bool
	}{
		{"a person", opensAgain(
			func(d *decoded) *int32 { return &d.hints.person },
			func(d *decoded) int32 { return d.hints.person })},
		{"a loan", opensAgain(
			func(d *decoded) *int32 { return &d.hints.loan },
			func(d *decoded) int32 { return d.hints.loan })},
		{"a beneficiary's account", opensAgain(
			func(d *decoded) *int32 {
				if _, ok := d.ev.(domain.SubsidyPaid); ok {
					return &d.hints.accounts[1] // the beneficiary's
				}
				return nil
			},
			func(d *decoded) int32 { return slices.Max(d.hints.accounts[:]) })},
	}
	for _, tc := range cases {
		t.Run("a segment that opens "+tc.name+" again is dropped, and the log read", func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range segmentFiles(t, written) {
				data, _ := os.ReadFile(f)
				os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644)
			}
			forgeSegment(t, dir, 2, tc.forge)
			again, logged := sealedProjector(t, dir)
			catchUpTo(t, again, store)
			if !strings.Contains(logged.String(), "opened twice") {
				t.Fatalf("got log %q, want the misnumbering found", logged.String())
			}
			sameState(t, again, want)
			if got, want := len(segmentFiles(t, dir)), len(segmentFiles(t, written)); got != want {
				t.Errorf("got %d segments after the rebuild, want %d written again", got, want)
			}
		})
	}
}

// opensAgain forges an event whose hint at(d) names a number already
// met into one that opens it again, the next number; numbers(d) is the
// highest number of the kind an event shows.
func opensAgain(at func(*decoded) *int32, numbers func(*decoded) int32) func(d *decoded, seen *int32) bool {
	return func(d *decoded, seen *int32) bool {
		if h := at(d); h != nil && *h > 0 && *h <= *seen {
			*h = *seen + 1
			return true
		}
		*seen = max(*seen, numbers(d))
		return false
	}
}

// forgeSegment rewrites segment k of dir with the first hint that forge
// changes, given what came before it in every segment up to k.
func forgeSegment(t *testing.T, dir string, k int, forge func(d *decoded, seen *int32) bool) {
	t.Helper()
	files := segmentFiles(t, dir)
	var seen int32
	var events []decoded
	for i, f := range files[:k+1] {
		data, _ := os.ReadFile(f)
		var sr segmentReader
		sr.reset(data[len(segmentMagic)+1 : len(data)-segmentCRCSize])
		runs := make(chan []decoded, 2)
		first := uint64(i*testSegmentEvents + 1)
		if err := sr.decode(context.Background(), first, testSegmentEvents, runs, nil); err != nil {
			t.Fatal(err)
		}
		close(runs)
		events = events[:0]
		for run := range runs {
			events = append(events, run...)
		}
		if i < k {
			for j := range events {
				forge(&events[j], &seen) // never true before k: it is a test of segment k
			}
		}
	}
	forged := slices.IndexFunc(events, func(d decoded) bool { return forge(&d, &seen) })
	if forged < 0 {
		t.Fatal("nothing to forge in the segment")
	}
	forge(&events[forged], &seen)
	os.Remove(files[k])
	sl := newSealer(dir, slog.New(slog.DiscardHandler))
	sl.size = testSegmentEvents
	sl.add(events)
	sl.settle()
	if _, err := os.Stat(files[k]); err != nil {
		t.Fatal(err)
	}
}

// TestSealedSegmentsAtStart: a start whose views read the log shared with
// the writer's open (replay.Feed, as serve shares it) applies the sealed
// segments first, and takes from the shared read only the events after them.
func TestSealedSegmentsAtStart(t *testing.T) {
	store, dir := sealedLog(t, 36)

	feed := replay.NewFeed(store)
	share, other := feed.Join(Reads), feed.Join(nil)
	go other.Read(context.Background(), 0, func(replay.Batch) error { return nil })
	logged := &bytes.Buffer{}
	p, err := New(Config{Sealed: dir, Replay: share, Logger: slog.New(slog.NewTextHandler(logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	p.sealer.size = testSegmentEvents
	stop := running(t, p, store)
	waitHead(t, p, store)
	stop()
	want := "events=" + strconv.Itoa(len(segmentFiles(t, dir))*testSegmentEvents)
	if !strings.Contains(logged.String(), want) {
		t.Errorf("got log %q, want the segments' %s applied", logged.String(), want)
	}
	sameState(t, p, project(t, store))
}

// TestSealedSegmentsAroundAHole: a rebuild reads the log where a segment
// is missing (a start from a snapshot seals nothing of the segment it
// began in), the segments before and after it, and writes the missing one
// as it was; on the memory store and on JetStream, whose bounded read
// (eventstore.RangeReader) the hole's read goes through.
func TestSealedSegmentsAroundAHole(t *testing.T) {
	history, mem := sealedHistory(t, 37)
	js, err := jetstream.OpenEmbedded(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer js.Close()
	appendHistory(t, js, history, 0, len(history))
	for _, log := range []struct {
		name  string
		store eventstore.Store
	}{{"memory", mem}, {"jetstream", js}} {
		t.Run(log.name, func(t *testing.T) {
			dir := t.TempDir()
			writer, _ := sealedProjector(t, dir)
			catchUpTo(t, writer, log.store)
			files := segmentFiles(t, dir)
			hole := files[1]
			want, _ := os.ReadFile(hole)
			os.Remove(hole)

			again, logged := sealedProjector(t, dir)
			catchUpTo(t, again, log.store)
			before, after := "events="+strconv.Itoa(testSegmentEvents), "events="+strconv.Itoa((len(files)-2)*testSegmentEvents)
			if got := logged.String(); strings.Count(got, "applied sealed segments") != 2 || !strings.Contains(got, before) || !strings.Contains(got, after) {
				t.Errorf("got log %q, want the segment before the hole applied (%s), then those after it (%s)", got, before, after)
			}
			sameState(t, again, project(t, log.store))
			if got, err := os.ReadFile(hole); err != nil || !bytes.Equal(got, want) {
				t.Errorf("the hole is not sealed again as it was (%v)", err)
			}
		})
	}
}

// TestSnapshotKeepsWhatHintsAreCheckedAgainst: views loaded from a snapshot
// know each person's key and each loan account's loan, as the views that
// wrote it did, so that hints are checked (and used) after a load too.
func TestSnapshotKeepsWhatHintsAreCheckedAgainst(t *testing.T) {
	_, store := sealedHistory(t, 38)
	original := project(t, store)
	loaded := reopen(t, original)
	if !reflect.DeepEqual(loaded.s.Persons, original.s.Persons) {
		t.Errorf("the persons differ after a load")
	}
	loans := 0
	for i := 1; i < original.s.Accounts.N; i++ {
		want, got := original.s.Accounts.at(i).loan, loaded.s.Accounts.at(i).loan
		if (want == nil) != (got == nil) || (want != nil && want.ID != got.ID) {
			t.Fatalf("account %s: got loan %v, want %v", *original.s.AccountNames.at(i), got, want)
		}
		if want != nil {
			loans++
		}
	}
	if loans == 0 {
		t.Fatal("no loan accounts in the log")
	}
}

// TestPartialSegments: a catch-up that ends inside a segment writes its
// whole runs as the segment's partial file; a rebuild reads it and takes
// from the log only what follows, seals the segment whole once the log
// has it (dropping the partial file), and drops a damaged one.
func TestPartialSegments(t *testing.T) {
	store := storeOf(t, randomHistory(39, 3000), func(domain.Event) bool { return true })
	const size, cut = 2 * decodeBatchEvents, 1700 // the log's first 1700 events end in the second segment
	short := upTo{store, cut}
	sized := func(dir string) (*Projector, *bytes.Buffer) {
		p, logged := sealedProjector(t, dir)
		p.sealer.size = size
		return p, logged
	}
	exists := func(dir, name string) bool {
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	written := func(t *testing.T) string {
		dir := t.TempDir()
		first, _ := sized(dir)
		catchUpTo(t, first, short)
		if !exists(dir, segmentName(1)) || !exists(dir, partialName(size+1)) || exists(dir, segmentName(size+1)) {
			t.Fatalf("got %v, want the first segment whole and the second's partial file", dirNames(t, dir))
		}
		return dir
	}
	t.Run("a rebuild reads the partial file and the log after it", func(t *testing.T) {
		dir := written(t)
		again, logged := sized(dir)
		catchUpTo(t, again, short)
		if want := "events=" + strconv.Itoa(cut/decodeBatchEvents*decodeBatchEvents); !strings.Contains(logged.String(), want) {
			t.Errorf("got log %q, want %s applied from the files", logged.String(), want)
		}
		sameState(t, again, project(t, short))
	})
	t.Run("a rebuild on a longer log seals the segment whole and drops its partial file", func(t *testing.T) {
		dir := written(t)
		again, _ := sized(dir)
		catchUpTo(t, again, store)
		sameState(t, again, project(t, store))
		if !exists(dir, segmentName(size+1)) || exists(dir, partialName(size+1)) {
			t.Errorf("got %v, want the second segment whole and no partial file of it", dirNames(t, dir))
		}
	})
	t.Run("a catch-up with nothing new leaves the partial file as it is", func(t *testing.T) {
		dir := t.TempDir()
		p, _ := sized(dir)
		catchUpTo(t, p, short)
		name := filepath.Join(dir, partialName(size+1))
		before, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		catchUpTo(t, p, short)
		after, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(before, after) {
			t.Error("got the partial file written again")
		}
	})
	t.Run("a damaged partial file is dropped, and the log read", func(t *testing.T) {
		dir := written(t)
		flipByte(t, filepath.Join(dir, partialName(size+1)), 100)
		again, logged := sized(dir)
		catchUpTo(t, again, short)
		if !strings.Contains(logged.String(), "partial segment dropped") {
			t.Errorf("got log %q, want the partial file dropped", logged.String())
		}
		sameState(t, again, project(t, short))
	})
}

// dirNames lists a directory's files.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
