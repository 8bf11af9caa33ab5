package jetstream

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/hrss-ledger/ledger/eventstore"
)

func appendN(t *testing.T, s *Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		c := crashCommit(fmt.Sprintf("%s-%d", prefix, i), 1+i%3)
		if _, err := s.Append(testContext(t), c); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
}

func readEvents(t *testing.T, s *Store) []eventstore.Event {
	t.Helper()
	var out []eventstore.Event
	if err := s.Read(testContext(t), 0, func(e eventstore.Event) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return out
}

func TestCodecRoundTrip(t *testing.T) {
	st := eventstore.NewState()
	d := st.Draft(time.Date(2017, 3, 1, 8, 0, 0, 42, time.UTC))
	for i, streams := range [][]string{{"fund-1"}, {"fund-1", "person-1", "person-2"}, {"x"}} {
		c := crashCommit(fmt.Sprint("c", i), len(streams))
		for j := range c.Events {
			c.Events[j].Stream = streams[j]
			c.Events[j].Meta.Actor = "clerk"
		}
		if _, err := d.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	want := d.Events()
	payload := encodeBatch(nil, [8]byte{1}, 7, want)
	decoders := []struct {
		name string
		dec  *decoder
	}{
		{"the owning decoder", newDecoder()},
		{"the borrowing decoder", newBorrowingDecoder()},
		{"the transient decoder", newTransientDecoder()},
	}
	for _, tt := range decoders {
		t.Run(tt.name+" gives back what was encoded", func(t *testing.T) {
			got, h, err := tt.dec.decode(nil, payload)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if h.batch != 7 || h.writer != [8]byte{1} || h.first != 1 {
				t.Errorf("header %+v, want writer 1 batch 7 first 1", h)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
			}
		})
	}
	for cut := range len(payload) {
		if _, _, err := newDecoder().decode(nil, payload[:cut]); !errors.Is(err, errBadPayload) {
			t.Fatalf("decoding the first %d of %d bytes: error %v, want errBadPayload", cut, len(payload), err)
		}
	}
}

func TestBorrowingDecoderOwnsWhatItReturns(t *testing.T) {
	st := eventstore.NewState()
	d := st.Draft(time.Date(2017, 3, 1, 8, 0, 0, 0, time.UTC))
	for i, n := range []int{3, 1, 2} { // commits repeat their command id, fingerprint and correlation id
		if _, err := d.Add(crashCommit(fmt.Sprint("c", i), n)); err != nil {
			t.Fatal(err)
		}
	}
	want := d.Events()
	want[4].Data = []byte{} // an empty body
	for i := range want {
		want[i].Meta.CorrelationID = fmt.Sprint("case-", i/2) // repeated, not always within a commit
	}
	payload := encodeBatch(nil, [8]byte{1}, 7, want)
	dec := newBorrowingDecoder()
	got, _, err := dec.decode(make([]eventstore.Event, 0, 1), payload)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	clear(payload) // the caller reuses its buffer
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after the payload was reused, decoded\n%+v\nwant\n%+v", got, want)
	}
	if a, b := got[0].Meta.CommandID, got[1].Meta.CommandID; unsafe.StringData(a) != unsafe.StringData(b) {
		t.Errorf("a commit's events hold separate copies of command id %q", a)
	}
}

func FuzzDecode(f *testing.F) {
	d := eventstore.NewState().Draft(time.Unix(0, 1))
	d.Add(crashCommit("c", 3))
	f.Add(encodeBatch(nil, [8]byte{}, 1, d.Events()))
	f.Fuzz(func(t *testing.T, payload []byte) {
		newDecoder().decode(nil, payload) // must not panic
	})
}

func TestCacheIsCheckedAndRebuilt(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"a torn tail is cut off", func(t *testing.T, path string) {
			info, _ := os.Stat(path)
			if err := os.Truncate(path, info.Size()-5); err != nil {
				t.Fatal(err)
			}
		}},
		{"a flipped byte makes the cache rebuild", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			b[len(b)/2] ^= 0xff
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"a missing cache is rebuilt", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenEmbedded(testContext(t), dir)
			if err != nil {
				t.Fatal(err)
			}
			appendN(t, s, "c", 100)
			want := readEvents(t, s)
			s.Close()
			tt.damage(t, filepath.Join(dir, "cache", cacheFileName))
			s, err = OpenEmbedded(testContext(t), dir)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			if got := readEvents(t, s); !reflect.DeepEqual(got, want) {
				t.Errorf("after damaging the cache the log reads %d events, want the %d written", len(got), len(want))
			}
			if got := s.cache.lastSeq.Load(); got != s.lastSeq {
				// the writer catches up asynchronously
				time.Sleep(100 * time.Millisecond)
				if got = s.cache.lastSeq.Load(); got != s.lastSeq {
					t.Errorf("cache holds %d messages, the stream %d", got, s.lastSeq)
				}
			}
		})
	}
}

func TestSecondWriterIsFenced(t *testing.T) {
	srv := startServer(t, t.TempDir())
	ctx := testContext(t)
	a, err := Connect(ctx, srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Connect(ctx, srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	appendN(t, a, "a", 3)
	// b decided at head 0: its batch is refused, nothing appended.
	_, err = b.AppendBatch(ctx, 0, []eventstore.Commit{crashCommit("b-stale", 1)})
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("stale AppendBatch from the second writer: error %v, want ErrConflict", err)
	}
	// A plain Append catches up and lands after a's events.
	r, err := b.Append(ctx, crashCommit("b-1", 2))
	if err != nil {
		t.Fatalf("Append from the second writer: %v", err)
	}
	head, _ := a.Head(ctx)
	if r.First != head-1 || r.Last != head {
		t.Errorf("second writer's commit at %+v, want the last two of %d", r, head)
	}
	// A batch decided at the stream's head (which b learns from the
	// stream) is published after b catches up, not just acknowledged.
	appendN(t, a, "a2", 2)
	head, err = b.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := b.AppendBatch(ctx, head, []eventstore.Commit{crashCommit("b-batch", 2)})
	if err != nil || rs[0].First != head+1 {
		t.Fatalf("AppendBatch at the stream's head %d from a stale writer = %+v, %v", head, rs, err)
	}
	if got, _ := a.Head(ctx); got != head+2 {
		t.Fatalf("after the second writer's batch the first sees head %d, want %d", got, head+2)
	}
	// Each sees the other's commands as duplicates, and one chain.
	if r, err := a.Append(ctx, crashCommit("b-1", 2)); err != nil || !r.Duplicate {
		t.Errorf("first writer retrying the second's command: %+v, %v; want a duplicate", r, err)
	}
	if fmt.Sprint(readEvents(t, a)) != fmt.Sprint(readEvents(t, b)) {
		t.Errorf("the two writers read different logs")
	}
}

func TestSubscribeEndsWhenTheStoreCloses(t *testing.T) {
	s, err := OpenEmbedded(testContext(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "c", 3)
	out := make(chan error, 1)
	go func() {
		out <- s.Subscribe(context.Background(), 0, func(eventstore.Event) error { return nil })
	}()
	time.Sleep(50 * time.Millisecond)
	s.Close()
	select {
	case err := <-out:
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("Subscribe ended with %v, want ErrClosed", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Subscribe did not end when the store closed")
	}
}
