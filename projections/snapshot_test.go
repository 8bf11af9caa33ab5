package projections

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// reopen writes p's views as a snapshot in a new directory and loads them back.
func reopen(t *testing.T, p *Projector) *Projector {
	t.Helper()
	dir := t.TempDir()
	if err := writeSnapshot(dir, p.s); err != nil {
		t.Fatal(err)
	}
	loaded, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := loaded.Position(), p.Position(); got != want {
		t.Fatalf("got position %d from the snapshot, want %d", got, want)
	}
	return loaded
}

func rendered(t *testing.T, name string, p *Projector) []byte {
	t.Helper()
	w := &goldenWriter{tb: t}
	renderAll(w, name, p)
	return w.buf.Bytes()
}

func sameViews(t *testing.T, name string, got, want *Projector) {
	t.Helper()
	g, w := rendered(t, name, got), rendered(t, name, want)
	if !bytes.Equal(g, w) {
		t.Fatalf("views differ:\ngot  %s\nwant %s", firstDiff(string(g), string(w)), firstDiff(string(w), string(g)))
	}
}

// longestHistory is the number of chunks of the longest account history.
func longestHistory(s *state) int {
	most := 0
	for acc := range s.Accounts.all {
		most = max(most, len(acc.Entries.Chunks))
	}
	return most
}

func TestSnapshotRoundTrips(t *testing.T) {
	logs := goldenLogs()
	for _, name := range sortedKeys(logs) {
		t.Run("the "+name+" log's views answer the same after a snapshot and a load", func(t *testing.T) {
			original := project(t, goldenStore(t, logs[name]))
			sameViews(t, name, reopen(t, original), original)
		})
	}
	t.Run("lists of many chunks come back whole", func(t *testing.T) {
		original := project(t, goldenStore(t, logs["realistic"]))
		s := reopen(t, original).s
		if got := len(s.Events.Chunks); got < 2 {
			t.Errorf("got %d chunks of events, want several for this test to mean anything", got)
		}
		if got := longestHistory(s); got < 2 {
			t.Errorf("got %d chunks in the longest history, want several", got)
		}
		// A region's cache of its years is not kept.
		for i := range original.s.Regions {
			original.s.Regions[i].years = nil
		}
		got, want := reflect.ValueOf(s).Elem(), reflect.ValueOf(original.s).Elem()
		for i := range got.NumField() {
			field := got.Type().Field(i)
			if field.IsExported() && !reflect.DeepEqual(got.Field(i).Interface(), want.Field(i).Interface()) {
				t.Errorf("got a different %s after the load", field.Name)
			}
		}
	})
}

func TestLoadedSnapshotCatchesUpLikeARebuild(t *testing.T) {
	history := goldenLogs()["realistic"]
	// Partial last chunks: the loaded lists must grow in place from there.
	half := len(history)/2 + 7
	loaded := reopen(t, project(t, goldenStore(t, history[:half])))
	full := goldenStore(t, history)
	if err := loaded.CatchUp(context.Background(), full); err != nil {
		t.Fatal(err)
	}
	sameViews(t, "realistic", loaded, project(t, full))
}

func TestDamagedSnapshotIsDiscarded(t *testing.T) {
	history := randomHistory(41, 300)
	store := goldenStore(t, history)
	dir := t.TempDir()
	if err := writeSnapshot(dir, project(t, store).s); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, snapshotFile)
	intact, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(at int) []byte {
		data := bytes.Clone(intact)
		data[at] ^= 0x10
		return data
	}
	n := len(intact)
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"a snapshot cut after its magic", intact[:len(snapshotMagic)], errSnapshotDamaged},
		{"a snapshot cut in the middle", intact[:n/2], errSnapshotDamaged},
		{"a snapshot missing its last byte", intact[:n-1], errSnapshotDamaged},
		{"a snapshot with a byte flipped in its magic", flip(3), errSnapshotFormat},
		{"a snapshot of the single-message format (v7)", append([]byte("ledger-views-v7\n"), intact[len(snapshotMagic):]...), errSnapshotFormat},
		{"a snapshot with a byte flipped in its header", flip(len(snapshotMagic) + headerFrameBytes + 5), errSnapshotDamaged},
		{"a snapshot with a byte flipped in its body", flip(n / 2), errSnapshotDamaged},
		{"a snapshot with a byte flipped near its end", flip(n - snapshotTrailerBytes - 3), errSnapshotDamaged},
		{"a snapshot with a byte flipped in its checksum", flip(n - 1), errSnapshotDamaged},
	}
	for _, c := range cases {
		t.Run(c.name+" is discarded and the views rebuilt", func(t *testing.T) {
			if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := loadSnapshot(dir); !errors.Is(err, c.want) {
				t.Errorf("got error %v, want %v", err, c.want)
			}
			p, err := New(Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Position(); got != 0 {
				t.Fatalf("got position %d from a damaged snapshot, want 0", got)
			}
			if err := p.CatchUp(context.Background(), store); err != nil {
				t.Fatal(err)
			}
			if got, want := allViews(t, p, history), allViews(t, project(t, store), history); got != want {
				t.Fatalf("rebuilt views differ:\ngot  %s\nwant %s", firstDiff(got, want), firstDiff(want, got))
			}
		})
	}
	t.Run("the intact snapshot is loaded", func(t *testing.T) {
		if err := os.WriteFile(path, intact, 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := New(Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		head, err := store.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Position(); got != head {
			t.Errorf("got position %d from an intact snapshot, want the log's head %d", got, head)
		}
	})
}

func TestUnchangedViewsAreNotRewritten(t *testing.T) {
	dir := t.TempDir()
	p, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CatchUp(context.Background(), goldenStore(t, randomHistory(42, 100))); err != nil {
		t.Fatal(err)
	}
	if err := p.Snapshot(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, snapshotFile)
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []*Projector{p, loaded} {
		if err := q.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Errorf("the snapshot was rewritten though the views had not moved")
	}
	t.Run("a deleted snapshot is written again", func(t *testing.T) {
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := loaded.Snapshot(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("got %v, want the snapshot written again", err)
		}
	})
}

// FuzzLoadSnapshot: whatever the file holds, a load returns views or an
// error, never a panic, and views only from a snapshot as written (the
// seeds'; a fuzzing worker writes its own, in another map order and
// over a log of other hashes, which record the time of each append).
func FuzzLoadSnapshot(f *testing.F) {
	history := randomHistory(43, 60)
	original := project(f, goldenStore(f, history)).s
	dir := f.TempDir()
	if err := writeSnapshot(dir, original); err != nil {
		f.Fatal(err)
	}
	intact, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(intact)
	f.Add(intact[:len(intact)/3])
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, snapshotFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := loadSnapshot(dir)
		if err != nil || s == nil {
			return
		}
		if s.Pos != original.Pos || s.Events.N != original.Events.N || s.Accounts.N != original.Accounts.N {
			t.Fatalf("got views at position %d with %d events and %d accounts from a damaged file, want an error",
				s.Pos, s.Events.N, s.Accounts.N)
		}
	})
}
