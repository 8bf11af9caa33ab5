package audit_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

// benchEvents is the size of the benchmarks' log.
const benchEvents = 1_000_000

// benchBatchEvents is the events per AppendBatch when building it, well
// under the contract's byte limit for these small events.
const benchBatchEvents = 1000

// benchLog is the benchmarks' log, built once per test binary run.
var benchLog struct {
	once  sync.Once
	store *memory.Store
	err   error
}

func memoryBenchLog(b *testing.B) *memory.Store {
	benchLog.once.Do(func() {
		benchLog.store = memory.New()
		benchLog.err = appendBenchEvents(context.Background(), benchLog.store, benchEvents)
	})
	if benchLog.err != nil {
		b.Fatal(benchLog.err)
	}
	return benchLog.store
}

// appendBenchEvents appends n events shaped like the ledger's (a repayment
// of one of 10,000 loans) in batches of one-event commits.
func appendBenchEvents(ctx context.Context, s eventstore.Store, n int) error {
	for i := 0; i < n; i += benchBatchEvents {
		commits := make([]eventstore.Commit, 0, benchBatchEvents)
		for j := i; j < min(i+benchBatchEvents, n); j++ {
			id := fmt.Sprintf("cmd-%d", j)
			commits = append(commits, eventstore.Commit{CommandID: id, Fingerprint: "fp", Events: []eventstore.Event{{
				Stream: fmt.Sprintf("loan-L%d", j%10000),
				Type:   "loan.repaid.v1",
				Data:   fmt.Appendf(nil, `{"loan_id":"L%d","principal":"%d.00","interest":"12.50","date":"2017-03-01"}`, j%10000, 100+j%900),
				Meta:   eventstore.Meta{BusinessDate: "2017-03-01", Actor: "clerk", CorrelationID: id},
			}}})
		}
		if _, err := s.AppendBatch(ctx, eventstore.Position(i), commits); err != nil {
			return fmt.Errorf("append at %d: %w", i, err)
		}
	}
	return nil
}

func reportEventRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(benchEvents)*float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkVerifyChain verifies a 1,000,000-event log: the chain alone, the
// chain with the Merkle tree, and beside them the raw engines (reading the
// store, hashing pre-encoded events) to show where the time goes.
func BenchmarkVerifyChain(b *testing.B) {
	store := memoryBenchLog(b)
	b.Run("store read alone (memory)", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if err := store.Read(context.Background(), 0, func(eventstore.Event) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		reportEventRate(b, start)
	})
	b.Run("raw sha256 over pre-encoded events", func(b *testing.B) {
		encoded := make([][]byte, 0, benchEvents)
		store.Read(context.Background(), 0, func(e eventstore.Event) error {
			encoded = append(encoded, eventstore.Canonical(e))
			return nil
		})
		start := time.Now()
		for b.Loop() {
			var prev [32]byte
			for _, c := range encoded {
				h := sha256.New()
				h.Write(prev[:])
				h.Write(c)
				h.Sum(prev[:0])
			}
		}
		reportEventRate(b, start)
	})
	b.Run("VerifyChain (memory)", func(b *testing.B) { benchVerifyChain(b, store) })
	b.Run("VerifyLog with the Merkle tree (memory)", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if report, _, err := audit.VerifyLog(context.Background(), store, audit.VerifyOptions{}); err != nil || report.EventsChecked != benchEvents {
				b.Fatalf("VerifyLog = %+v, %v", report, err)
			}
		}
		reportEventRate(b, start)
	})
	b.Run("VerifyChain (embedded JetStream)", func(b *testing.B) {
		js, err := jetstream.OpenEmbedded(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { js.Close() })
		if err := appendBenchEvents(context.Background(), js, benchEvents); err != nil {
			b.Fatal(err)
		}
		benchVerifyChain(b, js)
	})
}

func benchVerifyChain(b *testing.B, log audit.Log) {
	start := time.Now()
	for b.Loop() {
		if report, err := audit.VerifyChain(context.Background(), log, nil); err != nil || report.EventsChecked != benchEvents {
			b.Fatalf("VerifyChain = %+v, %v", report, err)
		}
	}
	reportEventRate(b, start)
}

// BenchmarkInclusionProof measures proof generation in a 1,000,000-event
// tree, for random positions, and the offline verification beside it.
func BenchmarkInclusionProof(b *testing.B) {
	store := memoryBenchLog(b)
	tree, err := audit.Build(context.Background(), store)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	b.Run("generate", func(b *testing.B) {
		for b.Loop() {
			if _, err := tree.InclusionProof(1+rng.Uint64N(benchEvents), benchEvents); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("generate in an older tree size", func(b *testing.B) {
		for b.Loop() {
			size := benchEvents/2 + rng.Uint64N(benchEvents/2)
			if _, err := tree.InclusionProof(1+rng.Uint64N(size), size); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("consistency", func(b *testing.B) {
		for b.Loop() {
			if _, err := tree.ConsistencyProof(1+rng.Uint64N(benchEvents), benchEvents); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("generate (embedded JetStream, 100,000 events)", benchJetStreamProofs)
	b.Run("verify offline, signature included", func(b *testing.B) {
		signer, err := audit.LoadOrCreateSigner(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		cp := signer.Checkpoint(tree, time.Now())
		events, err := audit.ReadRange(context.Background(), store, 777_777, 777_777)
		if err != nil {
			b.Fatal(err)
		}
		p, err := tree.InclusionProof(777_777, benchEvents)
		if err != nil {
			b.Fatal(err)
		}
		leaf := eventstore.Canonical(events[0])
		for b.Loop() {
			if err := audit.VerifyInclusionProof(cp, signer.PublicKey(), leaf, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// jetStreamProofEvents is the size of the JetStream log that proofs are
// measured on: the tree reads blocks back through the store's own reads.
const jetStreamProofEvents = 100_000

func benchJetStreamProofs(b *testing.B) {
	js, err := jetstream.OpenEmbedded(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { js.Close() })
	if err := appendBenchEvents(context.Background(), js, jetStreamProofEvents); err != nil {
		b.Fatal(err)
	}
	tree, err := audit.Build(context.Background(), js)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for b.Loop() {
		if _, err := tree.InclusionProof(1+rng.Uint64N(jetStreamProofEvents), jetStreamProofEvents); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTreeBuild builds the Merkle tree of a 1,000,000-event log and
// reports the rate and the heap the tree keeps per event, beside the raw
// engine: the leaf hashes alone, on one core, over pre-encoded events.
func BenchmarkTreeBuild(b *testing.B) {
	store := memoryBenchLog(b)
	b.Run("Build (memory)", func(b *testing.B) {
		var kept uint64
		for b.Loop() {
			b.StopTimer()
			before := liveHeap()
			b.StartTimer()
			tree, err := audit.Build(context.Background(), store)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			kept = liveHeap() - min(before, liveHeap())
			runtime.KeepAlive(tree)
			b.StartTimer()
		}
		b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(float64(kept)/benchEvents, "heap-B/event")
	})
	b.Run("raw leaf hashes on one core", func(b *testing.B) {
		encoded := make([][]byte, 0, benchEvents)
		store.Read(context.Background(), 0, func(e eventstore.Event) error {
			encoded = append(encoded, eventstore.Canonical(e))
			return nil
		})
		for b.Loop() {
			for _, c := range encoded {
				h := sha256.New()
				h.Write([]byte{0})
				h.Write(c)
				h.Sum(nil)
			}
		}
		b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// liveHeap collects garbage and returns the heap still in use, in bytes.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
