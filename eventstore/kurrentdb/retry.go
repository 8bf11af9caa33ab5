package kurrentdb

import (
	"context"
	"errors"
	"time"
)

// Retry limits: a node restart or a leader election in a three-node cluster
// takes a few seconds, so the default policy waits up to about 13 s in all
// (50+100+200+400+800+1600+3200+3200+3200 ms) before giving up.
const (
	defaultRetryAttempts = 10
	defaultRetryBase     = 50 * time.Millisecond
	defaultRetryMax      = 3200 * time.Millisecond
)

// retryPolicy retries transient failures with capped exponential backoff.
// There is no jitter: one sequencer writes each log, so no herd of clients
// retries in step.
type retryPolicy struct {
	attempts int           // calls in all, the first included
	base     time.Duration // wait after the first failure
	max      time.Duration // cap of any single wait
	// sleep waits d or until ctx ends; tests inject one that does not wait.
	sleep func(ctx context.Context, d time.Duration) error
}

func defaultRetry() retryPolicy {
	return retryPolicy{
		attempts: defaultRetryAttempts,
		base:     defaultRetryBase,
		max:      defaultRetryMax,
		sleep:    sleepContext,
	}
}

// delay is the wait after the given failed attempt (0-based).
func (p retryPolicy) delay(attempt int) time.Duration {
	d := p.base
	for i := 0; i < attempt && d < p.max; i++ {
		d *= 2
	}
	return min(d, p.max)
}

// do calls op until it succeeds, fails with a non-transient error, the
// attempts run out or ctx ends. repair runs before each retry (it rebuilds a
// client that shut itself down); its error ends the retries.
func (p retryPolicy) do(ctx context.Context, op func() error, repair func(error) error) error {
	var err error
	for attempt := 0; attempt < p.attempts; attempt++ {
		if attempt > 0 {
			if serr := p.sleep(ctx, p.delay(attempt-1)); serr != nil {
				return errors.Join(err, serr)
			}
			if rerr := repair(err); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		err = op()
		if err == nil || !errors.Is(err, errTransient) {
			return err
		}
	}
	return err
}

// sleepContext waits d unless ctx ends first.
func sleepContext(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
