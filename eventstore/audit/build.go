package audit

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"runtime"

	"github.com/hrss-ledger/ledger/eventstore"
)

// buildBatchEvents is how many events a hashing worker takes at a time: a
// whole number of blocks, enough that handing batches between goroutines
// costs little beside hashing them, few enough that the batches in flight
// hold a few MB of events.
const buildBatchEvents = 32 * blockLeaves

// hashJob is a run of the log whose leaves a worker hashes. Every block of
// the run but the last is complete: the worker folds each into its root,
// and the builder pushes those roots and the last block's leaves, in log
// order, on one goroutine.
type hashJob struct {
	events []eventstore.Event
	leaves []Hash // the leaf hashes, then, in place, the complete blocks' roots
	roots  int    // how many complete blocks leaves begins with
	done   chan struct{}
}

// Build reads the whole log into a new tree over it. The leaf hashes (the
// canonical encoding and SHA-256 of every event) are computed on every core.
func Build(ctx context.Context, log Log) (*Tree, error) {
	t := NewTree(log)
	if err := t.build(ctx, log); err != nil {
		return nil, fmt.Errorf("audit: build tree: %w", err)
	}
	return t, nil
}

func (t *Tree) build(ctx context.Context, log Log) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(runtime.GOMAXPROCS(0), 1)
	jobs := make(chan *hashJob, workers*2)
	order := make(chan *hashJob, workers*4)
	// Pushed jobs come back to the reader, so that a build reuses a few
	// batches instead of allocating one per buildBatchEvents.
	free := make(chan *hashJob, workers*6+2)
	for range workers {
		go func() {
			// One hash and one encoding buffer per worker: a leaf's hash
			// allocates nothing, so a build leaves no garbage behind.
			sha := sha256.New()
			var canonical []byte
			for j := range jobs {
				canonical = j.hash(sha, canonical)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() { readErr <- feedHashJobs(ctx, log, jobs, order, free) }()
	var pushErr error
	for j := range order {
		<-j.done
		if pushErr == nil {
			if pushErr = t.pushJob(j); pushErr != nil {
				cancel()
			}
		}
		j.recycle(free)
	}
	if err := <-readErr; pushErr == nil && err != nil {
		return err
	}
	return pushErr
}

// hash computes the run's leaf hashes and folds its complete blocks,
// encoding each event into buf; it returns buf for the next run.
func (j *hashJob) hash(sha hash.Hash, buf []byte) []byte {
	j.leaves = j.leaves[:len(j.events)]
	for i := range j.events {
		buf = eventstore.AppendCanonical(buf[:0], j.events[i])
		sha.Reset()
		sha.Write(leafPrefix)
		sha.Write(buf)
		sha.Sum(j.leaves[i][:0])
	}
	j.roots = len(j.events) / blockLeaves
	for b := range j.roots {
		j.leaves[b] = subtreeRoot(j.leaves[b*blockLeaves : (b+1)*blockLeaves])
	}
	close(j.done)
	return buf
}

// pushJob appends a hashed run to the tree, refusing a gap or a repeat in
// its positions as Append does.
func (t *Tree) pushJob(j *hashJob) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, e := range j.events {
		if want := t.state.size + uint64(i) + 1; e.Position != want {
			return fmt.Errorf("audit: tree of size %d cannot take position %d: %w", want-1, e.Position, ErrTreeSize)
		}
	}
	for _, root := range j.leaves[:j.roots] {
		t.state.push(storedLevelStride, root)
	}
	for _, leaf := range j.leaves[j.roots*blockLeaves : len(j.events)] {
		t.state.push(0, leaf)
	}
	return nil
}

// recycle clears a pushed job (dropping its references to the events) and
// offers it for reuse.
func (j *hashJob) recycle(free chan<- *hashJob) {
	clear(j.events)
	j.events, j.done = j.events[:0], nil
	select {
	case free <- j:
	default:
	}
}

func newHashJob(free <-chan *hashJob) *hashJob {
	select {
	case j := <-free:
		j.done = make(chan struct{})
		return j
	default:
		return &hashJob{events: make([]eventstore.Event, 0, buildBatchEvents),
			leaves: make([]Hash, buildBatchEvents), done: make(chan struct{})}
	}
}

// feedHashJobs reads the log into runs of buildBatchEvents events, queued
// in log order; each run starts on a block boundary.
func feedHashJobs(ctx context.Context, log Log, jobs, order chan<- *hashJob, free <-chan *hashJob) error {
	defer close(jobs)
	defer close(order)
	cur := newHashJob(free)
	flush := func() error {
		select {
		case order <- cur:
		case <-ctx.Done():
			return ctx.Err()
		}
		jobs <- cur
		cur = newHashJob(free)
		return nil
	}
	err := eventstore.ReadBatches(ctx, log, 0, func(run []eventstore.Event) error {
		for len(run) > 0 {
			n := min(len(run), buildBatchEvents-len(cur.events))
			cur.events = append(cur.events, run[:n]...)
			run = run[n:]
			if len(cur.events) == buildBatchEvents {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err == nil && len(cur.events) > 0 {
		err = flush()
	}
	return err
}
