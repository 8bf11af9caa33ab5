package replay_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/memory"
	"github.com/hrss-ledger/ledger/eventstore/replay"
)

// logOf returns a store of n events, one commit each: trainings, and every
// seventh one with a body that does not decode.
func logOf(t *testing.T, n int) *memory.Store {
	t.Helper()
	s := memory.New()
	for i := range n {
		typ, data, err := domain.Encode(domain.TrainingRecorded{TrainingID: fmt.Sprint("T", i), BeneficiaryID: "B1",
			RegionCode: "610902", Date: domain.MustDate("2026-03-01")})
		if err != nil {
			t.Fatal(err)
		}
		if i%7 == 6 {
			data = []byte(`{"training_id": 12}`)
		}
		_, err = s.Append(context.Background(), eventstore.Commit{CommandID: fmt.Sprint("c", i),
			Events: []eventstore.Event{{Stream: fmt.Sprint("training-", i), Type: typ, Data: data,
				Meta: eventstore.Meta{BusinessDate: "2026-03-01"}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// seen is what a member was handed, copied out of the batches.
type seen struct {
	positions []eventstore.Position
	decoded   []replay.Decoded
}

func (s *seen) take(b replay.Batch) error {
	for i := range b.Events {
		s.positions = append(s.positions, b.Events[i].Position)
		s.decoded = append(s.decoded, b.Decoded[i])
	}
	return nil
}

// wantAfter reads the log plainly: the events after `after` and their decodings.
func wantAfter(t *testing.T, log eventstore.EventReader, after eventstore.Position) seen {
	t.Helper()
	var w seen
	syms := domain.NewSymbols()
	err := log.Read(context.Background(), after, func(e eventstore.Event) error {
		w.positions = append(w.positions, e.Position)
		w.decoded = append(w.decoded, replay.Decode(&e, syms))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestEveryMemberSeesTheEventsAfterItsOwnPosition(t *testing.T) {
	log := logOf(t, 3000) // several runs
	feed := replay.NewFeed(log)
	starts := []eventstore.Position{0, 1234, 3000}
	members := make([]*replay.Member, len(starts))
	for i := range members {
		members[i] = feed.Join(nil)
	}
	got := make([]seen, len(starts))
	var wg sync.WaitGroup
	for i, m := range members {
		wg.Go(func() {
			if err := m.Read(context.Background(), starts[i], got[i].take); err != nil {
				t.Errorf("member %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i, after := range starts {
		want := wantAfter(t, log, after)
		if !reflect.DeepEqual(got[i].positions, want.positions) {
			t.Errorf("member after %d: positions %d..., want %d of them", after, len(got[i].positions), len(want.positions))
			continue
		}
		for k := range want.decoded {
			g, w := got[i].decoded[k], want.decoded[k]
			if !reflect.DeepEqual(g.Value, w.Value) || (g.Err == nil) != (w.Err == nil) {
				t.Fatalf("member after %d, position %d: got %v / %v, want %v / %v", after, want.positions[k], g.Value, g.Err, w.Value, w.Err)
			}
		}
	}
}

func TestAMemberThatLeavesDoesNotHoldTheReadBack(t *testing.T) {
	log := logOf(t, 600)
	feed := replay.NewFeed(log)
	reader, leaver := feed.Join(nil), feed.Join(nil)
	done := make(chan error, 1)
	var got seen
	go func() { done <- reader.Read(context.Background(), 100, got.take) }()
	leaver.Leave()
	leaver.Leave() // a deferred Leave after an explicit one does nothing
	if err := waitFor(t, done); err != nil {
		t.Fatal(err)
	}
	if len(got.positions) != 500 || got.positions[0] != 101 {
		t.Fatalf("got %d events from %v, want 500 from 101", len(got.positions), got.positions[:1])
	}
	if err := leaver.Read(context.Background(), 0, got.take); err == nil {
		t.Errorf("a member that left could read")
	}
}

func TestAFailingMemberStopsTheOthers(t *testing.T) {
	log := logOf(t, 40*512) // more runs than a member may hold ahead of the failing one
	feed := replay.NewFeed(log)
	failing, other := feed.Join(nil), feed.Join(nil)
	boom := errors.New("boom")
	failed, stopped := make(chan error, 1), make(chan error, 1)
	var n int
	go func() {
		failed <- failing.Read(context.Background(), 0, func(b replay.Batch) error {
			if n += len(b.Events); n > 1000 {
				return boom
			}
			return nil
		})
	}()
	var got seen
	go func() { stopped <- other.Read(context.Background(), 0, got.take) }()
	if err := waitFor(t, failed); !errors.Is(err, boom) {
		t.Errorf("the failing member got %v, want its own error", err)
	}
	if err := waitFor(t, stopped); !errors.Is(err, replay.ErrStopped) {
		t.Errorf("the other member got %v, want ErrStopped", err)
	}
	if len(got.positions) >= 40*512 {
		t.Errorf("the other member saw the whole log after the read stopped")
	}
}

func TestAMemberWhoseContextEndsStopsTheRead(t *testing.T) {
	log := logOf(t, 40*512) // more runs than a member may hold ahead of the cancelled one
	feed := replay.NewFeed(log)
	cancelled, other := feed.Join(nil), feed.Join(nil)
	ctx, cancel := context.WithCancel(context.Background())
	first, second := make(chan error, 1), make(chan error, 1)
	go func() {
		first <- cancelled.Read(ctx, 0, func(replay.Batch) error {
			cancel()
			return nil
		})
	}()
	go func() { second <- other.Read(context.Background(), 0, func(replay.Batch) error { return nil }) }()
	if err := waitFor(t, first); !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled member got %v", err)
	}
	if err := waitFor(t, second); !errors.Is(err, replay.ErrStopped) {
		t.Errorf("the other member got %v, want ErrStopped", err)
	}
}

func TestACancelledMemberDoesNotWaitForOneThatNeverCame(t *testing.T) {
	feed := replay.NewFeed(logOf(t, 10))
	waiting := feed.Join(nil)
	feed.Join(nil) // never reads: its owner broke the contract
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- waiting.Read(ctx, 0, func(replay.Batch) error { return nil }) }()
	cancel()
	if err := waitFor(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
}

func waitFor(t *testing.T, c <-chan error) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("hung")
		return nil
	}
}

// TestAMemberAtTheHeadDoesNotWait: a member whose position is the head's
// returns at once, while another member is still being fed.
func TestAMemberAtTheHeadDoesNotWait(t *testing.T) {
	log := logOf(t, 2000)
	feed := replay.NewFeed(log)
	atHead, behind := feed.Join(nil), feed.Join(nil)
	release := make(chan struct{})
	behindDone := make(chan error, 1)
	go func() {
		behindDone <- behind.Read(context.Background(), 0, func(replay.Batch) error {
			<-release // held until the member at the head has returned
			return nil
		})
	}()
	called := false
	err := atHead.Read(context.Background(), 2000, func(replay.Batch) error { called = true; return nil })
	close(release)
	if err != nil || called {
		t.Errorf("the member at the head: err %v, handed events %v", err, called)
	}
	if err := waitFor(t, behindDone); err != nil {
		t.Fatal(err)
	}
}

// TestOnlyWantedTypesAreDecoded: with every member naming the types it
// wants, the others go undecoded; one member wanting all decodes all.
func TestOnlyWantedTypesAreDecoded(t *testing.T) {
	log := logOf(t, 50)
	none := func(string) bool { return false }
	for _, tc := range []struct {
		name    string
		wants   []func(string) bool
		decoded bool
	}{
		{"nobody wants trainings", []func(string) bool{none, none}, false},
		{"one member wants every type", []func(string) bool{none, nil}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			feed := replay.NewFeed(log)
			members := make([]*replay.Member, len(tc.wants))
			for i, w := range tc.wants {
				members[i] = feed.Join(w)
			}
			got := make([]seen, len(members))
			var wg sync.WaitGroup
			for i, m := range members {
				wg.Go(func() {
					if err := m.Read(context.Background(), 0, got[i].take); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			for _, d := range got[0].decoded {
				if decoded := d.Value != nil || d.Err != nil; decoded != tc.decoded {
					t.Fatalf("decoded %v, want %v", decoded, tc.decoded)
				}
			}
		})
	}
}
