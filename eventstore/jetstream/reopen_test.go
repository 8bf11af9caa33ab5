package jetstream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/eventstore"
)

// TestReopenWithoutCacheFeedsTheCacheWhileCatchingUp reopens a store whose
// read cache was lost, with more messages than the cache writer's queue
// holds: opening must rebuild the cache, not wait for it forever.
func TestReopenWithoutCacheFeedsTheCacheWhileCatchingUp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := OpenEmbedded(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	messages := cacheQueuedMsgs + 200
	for i := range messages { // one Append at a time: one message each
		_, err := store.Append(ctx, eventstore.Commit{CommandID: fmt.Sprintf("c-%d", i),
			Events: []eventstore.Event{{Stream: "fund-F", Type: "test.v1", Data: []byte(`{}`)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "cache", cacheFileName)); err != nil {
		t.Fatal(err)
	}

	opened := make(chan error, 1)
	go func() {
		reopened, err := OpenEmbedded(ctx, dir)
		if err == nil {
			head, herr := reopened.Head(ctx)
			if herr == nil && head != eventstore.Position(messages) {
				herr = fmt.Errorf("head %d, want %d", head, messages)
			}
			err = herr
			reopened.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("reopening a store whose cache was lost did not finish within 60s")
	}
}

// TestReopenResumesFromTheSavedState closes a store (saving its state),
// tampers with the saved state, appends, and reopens: whatever the saved
// state holds, the reopened store must know every stream, command and
// position the log holds, and a saved state the log does not lead to must
// be set aside.
func TestReopenResumesFromTheSavedState(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, snapshot string, older []byte)
		kept   bool // a snapshot is there after the reopen
	}{
		{"the state saved at close is used", func(*testing.T, string, []byte) {}, true},
		{"an older saved state resumes with the log after it", func(t *testing.T, snapshot string, older []byte) {
			writeFile(t, snapshot, older)
		}, true},
		{"a damaged saved state is set aside", func(t *testing.T, snapshot string, _ []byte) {
			b, _ := os.ReadFile(snapshot)
			b[len(b)/2] ^= 0xff
			writeFile(t, snapshot, b)
		}, false},
		{"a saved state of another log is set aside", func(t *testing.T, snapshot string, _ []byte) {
			other := t.TempDir()
			s, err := OpenEmbedded(testContext(t), other)
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, s, "other", 80)
			s.Close()
			b, _ := os.ReadFile(filepath.Join(other, "cache", snapshotFileName))
			writeFile(t, snapshot, b)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			snapshot := filepath.Join(dir, "cache", snapshotFileName)
			s, err := OpenEmbedded(testContext(t), dir)
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, s, "a", 40)
			appendToFund(t, s, "a", 5)
			s.Close()
			older, err := os.ReadFile(snapshot)
			if err != nil {
				t.Fatalf("no state saved at close: %v", err)
			}
			if s, err = OpenEmbedded(testContext(t), dir); err != nil {
				t.Fatal(err)
			}
			appendN(t, s, "b", 40)
			appendToFund(t, s, "b", 5)
			want := readEvents(t, s)
			s.Close()
			tt.tamper(t, snapshot, older)

			s, err = OpenEmbedded(testContext(t), dir)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			if _, err := os.Stat(snapshot); (err == nil) != tt.kept {
				t.Errorf("snapshot kept: got %v, want %v", err == nil, tt.kept)
			}
			checkKnowsTheLog(t, s, want)
		})
	}
}

// checkKnowsTheLog checks that s holds want and that its state knows it:
// every command is a duplicate, every stream reads back whole, and the
// next append lands after the head.
func checkKnowsTheLog(t *testing.T, s *Store, want []eventstore.Event) {
	t.Helper()
	ctx := testContext(t)
	if got := readEvents(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("the log reads %d events, want the %d written", len(got), len(want))
	}
	streams := map[string][]eventstore.Event{}
	for _, e := range want {
		streams[e.Stream] = append(streams[e.Stream], e)
	}
	for stream, events := range streams {
		got, err := s.ReadStream(ctx, stream)
		if err != nil || !reflect.DeepEqual(got, events) {
			t.Fatalf("ReadStream(%s): %d events (%v), want %d", stream, len(got), err, len(events))
		}
	}
	for _, e := range []eventstore.Event{want[0], want[len(want)/2], want[len(want)-1]} {
		r, err := s.Append(ctx, eventstore.Commit{CommandID: e.Meta.CommandID, Fingerprint: e.Meta.Fingerprint,
			Events: []eventstore.Event{{Stream: e.Stream, Type: e.Type, Data: e.Data}}})
		if err != nil || !r.Duplicate || r.First > e.Position || r.Last < e.Position {
			t.Errorf("command %s again: got %+v, %v; want a duplicate holding position %d", e.Meta.CommandID, r, err, e.Position)
		}
	}
	r, err := s.Append(ctx, eventstore.Commit{CommandID: "after", Events: []eventstore.Event{{Stream: want[0].Stream, Type: "t.v1", Data: []byte(`{}`)}}})
	if err != nil || r.First != want[len(want)-1].Position+1 {
		t.Errorf("next append: got %+v, %v; want position %d", r, err, want[len(want)-1].Position+1)
	}
	s.mu.RLock() // an answered append may still be entering the state
	got := s.state.Version(want[0].Stream)
	s.mu.RUnlock()
	if got != uint64(len(streams[want[0].Stream])+1) {
		t.Errorf("version of %s after one more event: got %d, want %d", want[0].Stream, got, len(streams[want[0].Stream])+1)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// appendToFund appends n commands of one event each to the stream fund-F.
func appendToFund(t *testing.T, s *Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		c := newTestCommit(fmt.Sprintf("%s-fund-%d", prefix, i))
		c.Events = []eventstore.Event{{Stream: "fund-F", Type: "fund.allocated.v1", Data: []byte(`{}`)}}
		if _, err := s.Append(testContext(t), c); err != nil {
			t.Fatal(err)
		}
	}
}
