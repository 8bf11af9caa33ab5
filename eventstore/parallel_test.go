package eventstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

// doubled is the pipeline of TestReadInParallel: each event's position,
// doubled on a worker, consumed in order.
func doubled(size int, consume func(in, out []uint64) error) eventstore.Pipeline[uint64, uint64] {
	return eventstore.Pipeline[uint64, uint64]{
		Size: size,
		Keep: func(e *eventstore.Event) uint64 { return e.Position },
		NewWorker: func() func(in, out []uint64) {
			return func(in, out []uint64) {
				for i, p := range in {
					out[i] = 2 * p
				}
			}
		},
		Consume: consume,
	}
}

func TestReadInParallel(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	defer store.Close()
	const events = 1000
	for i := range events {
		if _, err := store.Append(ctx, commitOf(fmt.Sprintf("c-%d", i), fmt.Sprintf("s-%d", i%7))); err != nil {
			t.Fatal(err)
		}
	}
	for _, after := range []eventstore.Position{0, 1, 333, events - 1, events} {
		t.Run(fmt.Sprintf("reading after %d hands every run over in log order, each worked on", after), func(t *testing.T) {
			next := after + 1
			runs := 0
			err := eventstore.ReadInParallel(ctx, store, after, doubled(64, func(in, out []uint64) error {
				if len(in) == 0 || len(out) != len(in) || (len(in) != 64 && in[len(in)-1] != events) {
					t.Fatalf("run of %d in, %d out ending at %d", len(in), len(out), in[len(in)-1])
				}
				for i, p := range in {
					if p != next || out[i] != 2*p {
						t.Fatalf("got position %d worked to %d, want %d worked to %d", p, out[i], next, 2*next)
					}
					next++
				}
				runs++
				return nil
			}))
			if err != nil {
				t.Fatal(err)
			}
			if next != events+1 {
				t.Errorf("read up to %d, want %d", next-1, events)
			}
			if want := (events - int(after) + 63) / 64; runs != want {
				t.Errorf("got %d runs, want %d", runs, want)
			}
		})
	}
	t.Run("an error from Consume stops the read and is returned", func(t *testing.T) {
		stop := errors.New("enough")
		runs := 0
		err := eventstore.ReadInParallel(ctx, store, 0, doubled(16, func(in, out []uint64) error {
			if runs++; runs == 3 {
				return stop
			}
			return nil
		}))
		if !errors.Is(err, stop) || runs != 3 {
			t.Errorf("got %v after %d runs, want %v after 3", err, runs, stop)
		}
	})
	t.Run("a cancelled context stops the read", func(t *testing.T) {
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		err := eventstore.ReadInParallel(cancelled, store, 0, doubled(16, func(in, out []uint64) error { return nil }))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
}

// again is a reader that delivers at least once: it repeats the 3 events
// before where it was asked to start.
type again struct{ *memory.Store }

func (r again) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	return r.Store.Read(ctx, after-min(after, 3), fn)
}

func TestEventAtSkipsRepeatedEvents(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	defer store.Close()
	for i := range 5 {
		if _, err := store.Append(ctx, commitOf(fmt.Sprintf("c-%d", i), "s")); err != nil {
			t.Fatal(err)
		}
	}
	e, ok, err := eventstore.EventAt(ctx, again{store}, 4)
	if err != nil || !ok || e.Position != 4 {
		t.Errorf("got %d, %v, %v; want the event at 4", e.Position, ok, err)
	}
}
