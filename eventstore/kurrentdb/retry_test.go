package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/eventstore"
)

// sleeper records the waits asked of it instead of waiting.
type sleeper struct{ waits []time.Duration }

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func testPolicy(s *sleeper) retryPolicy {
	p := defaultRetry()
	p.sleep = s.sleep
	return p
}

var (
	transientErr = &opError{op: "append", kinds: []error{eventstore.ErrUnavailable, errTransient}, cause: errors.New("connection reset")}
	closedErr    = &opError{op: "append", kinds: []error{eventstore.ErrUnavailable, errTransient, errClientClosed}, cause: errors.New("closed")}
	conflictErr  = &opError{op: "append", kinds: []error{eventstore.ErrConflict}, cause: errors.New("wrong expected version")}
)

// failing returns an op that fails with errs in turn, then succeeds.
func failing(errs ...error) (op func() error, calls *int) {
	calls = new(int)
	return func() error {
		*calls++
		if *calls <= len(errs) {
			return errs[*calls-1]
		}
		return nil
	}, calls
}

func noRepair(error) error { return nil }

func TestRetryDelaysDoubleUpToTheCap(t *testing.T) {
	p := defaultRetry()
	var got []time.Duration
	for attempt := range 9 {
		got = append(got, p.delay(attempt))
	}
	want := fmt.Sprint([]time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond,
		400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond,
		3200 * time.Millisecond, 3200 * time.Millisecond})
	if fmt.Sprint(got) != want {
		t.Errorf("delays %v, want %v", got, want)
	}
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name      string
		errs      []error
		wantErr   error
		wantCalls int
		wantWaits int
	}{
		{"a call that succeeds is made once", nil, nil, 1, 0},
		{"transient failures are retried until the call succeeds", []error{transientErr, transientErr}, nil, 3, 2},
		{"a conflict is returned at once", []error{conflictErr}, eventstore.ErrConflict, 1, 0},
		{"a transient failure then a conflict returns the conflict", []error{transientErr, conflictErr}, eventstore.ErrConflict, 2, 1},
		{"transient failures stop after the last attempt", repeat(transientErr, 20), eventstore.ErrUnavailable, defaultRetryAttempts, defaultRetryAttempts - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sleeper{}
			op, calls := failing(tt.errs...)
			err := testPolicy(s).do(context.Background(), op, noRepair)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if *calls != tt.wantCalls || len(s.waits) != tt.wantWaits {
				t.Errorf("%d calls and %d waits, want %d and %d", *calls, len(s.waits), tt.wantCalls, tt.wantWaits)
			}
		})
	}
}

func repeat(err error, n int) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func TestRetryStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	op, calls := failing(transientErr, transientErr)
	err := testPolicy(&sleeper{}).do(ctx, op, noRepair)
	if !errors.Is(err, context.Canceled) || *calls != 1 {
		t.Errorf("after cancel: %d calls, error %v; want 1 call and context.Canceled", *calls, err)
	}
}

func TestRetryRepairsBeforeEachRetry(t *testing.T) {
	var repaired []error
	repair := func(err error) error {
		repaired = append(repaired, err)
		return nil
	}
	op, _ := failing(closedErr, transientErr)
	if err := testPolicy(&sleeper{}).do(context.Background(), op, repair); err != nil {
		t.Fatalf("do: %v", err)
	}
	if len(repaired) != 2 || !errors.Is(repaired[0], errClientClosed) || errors.Is(repaired[1], errClientClosed) {
		t.Errorf("repair saw %v, want the closed client then the transient failure", repaired)
	}
}

func TestRetryGivesUpWhenRepairFails(t *testing.T) {
	op, calls := failing(closedErr, closedErr)
	err := testPolicy(&sleeper{}).do(context.Background(), op, func(error) error { return eventstore.ErrClosed })
	if !errors.Is(err, eventstore.ErrClosed) || *calls != 1 {
		t.Errorf("%d calls, error %v; want 1 call and ErrClosed", *calls, err)
	}
}
