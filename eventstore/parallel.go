package eventstore

import (
	"context"
	"runtime"
)

// Pipeline says how ReadInParallel turns the log into work: each run of
// Size events is copied (Keep) while the read hands it over, processed on
// one of GOMAXPROCS worker goroutines, and consumed in log order.
type Pipeline[In, Out any] struct {
	// Size is how many events a run holds (every run but the last is
	// full): large enough to amortise the hand-offs between goroutines.
	Size int
	// Keep copies what the work needs of an event; the event is valid only
	// during the call (BatchReader's contract).
	Keep func(e *Event) In
	// NewWorker returns the work of one worker goroutine, with whatever
	// state it reuses from run to run (a hash, a symbol table). The work
	// fills out, as long as in, from in.
	NewWorker func() func(in []In, out []Out)
	// Consume takes each run's input and output, in log order, on the
	// caller's goroutine; an error stops the read and is returned.
	Consume func(in []In, out []Out) error
	// Keeps says Consume keeps the slices it is given, to finish with
	// later on other goroutines: the runs are then never reused.
	Keeps bool
}

// ReadInParallel reads the events after position `after`, up to the head
// as of the call, through p: the per-event work (decoding, hashing) runs on
// every core while Consume sees the runs in log order. A rebuild of views
// and the audit tree's build are this pattern.
func ReadInParallel[In, Out any](ctx context.Context, r EventReader, after Position, p Pipeline[In, Out]) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(runtime.GOMAXPROCS(0), 1)
	jobs := make(chan *run[In, Out], workers*2)
	order := make(chan *run[In, Out], workers*4)
	// Consumed runs come back to the reader, so that a long read reuses a
	// few runs instead of allocating one per Size events.
	free := make(chan *run[In, Out], workers*6+2)
	for range workers {
		work := p.NewWorker()
		go func() {
			for j := range jobs {
				work(j.in, j.out)
				close(j.done)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() { readErr <- p.feed(ctx, r, after, jobs, order, free) }()
	var consumeErr error
	for j := range order {
		<-j.done
		if consumeErr == nil {
			if consumeErr = p.Consume(j.in, j.out); consumeErr != nil {
				cancel()
			}
		}
		if !p.Keeps {
			j.recycle(free)
		}
	}
	if err := <-readErr; consumeErr == nil {
		return err
	}
	return consumeErr
}

// run is one run of events on its way through a Pipeline.
type run[In, Out any] struct {
	in   []In
	out  []Out
	done chan struct{} // closed once a worker filled out
}

// feed reads the log into runs, queued in log order for Consume and handed
// to the workers.
func (p Pipeline[In, Out]) feed(ctx context.Context, r EventReader, after Position, jobs, order chan<- *run[In, Out], free <-chan *run[In, Out]) error {
	defer close(jobs)
	defer close(order)
	cur := p.newRun(free)
	flush := func() error {
		cur.out = cur.out[:len(cur.in)]
		select {
		case order <- cur:
		case <-ctx.Done():
			return ctx.Err()
		}
		jobs <- cur
		cur = p.newRun(free)
		return nil
	}
	err := ReadBatches(ctx, r, after, func(events []Event) error {
		for i := range events {
			cur.in = append(cur.in, p.Keep(&events[i]))
			if len(cur.in) == p.Size {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil && len(cur.in) > 0 {
		err = flush()
	}
	return err
}

// newRun returns an empty run, reused when one is free.
func (p Pipeline[In, Out]) newRun(free <-chan *run[In, Out]) *run[In, Out] {
	select {
	case j := <-free:
		j.done = make(chan struct{})
		return j
	default:
		return &run[In, Out]{in: make([]In, 0, p.Size), out: make([]Out, 0, p.Size), done: make(chan struct{})}
	}
}

// recycle clears a consumed run (dropping its references to the events)
// and offers it for reuse.
func (j *run[In, Out]) recycle(free chan<- *run[In, Out]) {
	clear(j.in)
	clear(j.out)
	j.in, j.out, j.done = j.in[:0], j.out[:0], nil
	select {
	case free <- j:
	default:
	}
}
