package writer_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
)

// benchClients is the number of concurrent callers, as many HTTP requests in flight.
const benchClients = 64

// benchStore opens an embedded JetStream store (fsync on every write) in a
// fresh directory.
func benchStore(b *testing.B) *jetstream.Store {
	s, err := jetstream.OpenEmbedded(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// runClients runs op from benchClients goroutines until b.Loop ends and
// reports commands/s and the p50 and p99 latency of op.
func runClients(b *testing.B, op func(i int) error) {
	work := make(chan int, benchClients)
	latencies := make([][]time.Duration, benchClients)
	var wg sync.WaitGroup
	var failed sync.Once
	for c := range benchClients {
		wg.Go(func() {
			for i := range work {
				start := time.Now()
				if err := op(i); err != nil {
					failed.Do(func() { b.Error(err) })
				}
				latencies[c] = append(latencies[c], time.Since(start))
			}
		})
	}
	start := time.Now()
	n := 0
	for b.Loop() {
		work <- n
		n++
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(latencies...)
	slices.Sort(all)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "commands/s")
	b.ReportMetric(percentile(all, 0.50), "p50-ms")
	b.ReportMetric(percentile(all, 0.99), "p99-ms")
}

func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(q*float64(len(sorted)-1))]) / float64(time.Millisecond)
}

// benchPayment is the i-th payment of one yuan from the fixture's fund.
func benchPayment(run string, i int) domain.PaySubsidy {
	return pay(fmt.Sprintf("P-%s-%d", run, i), "1")
}

// BenchmarkWriterCommands64 is PaySubsidy commands from 64 goroutines
// through the writer: decided in order against the whole state, appended in
// groups, each answered after fsync.
func BenchmarkWriterCommands64(b *testing.B) {
	store := benchStore(b)
	w := open(b, store)
	seed(b, w, "1000000000")
	run := fmt.Sprint(time.Now().UnixNano())
	ctx := context.Background()
	runClients(b, func(i int) error {
		_, err := w.Execute(ctx, request(fmt.Sprintf("bench-%s-%d", run, i), benchPayment(run, i)))
		return err
	})
}

// BenchmarkStoreAppend64 is the same store's Append from 64 goroutines, one
// commit of the same event per call and no decision: the floor under
// BenchmarkWriterCommands64, whose excess is the sequencer's overhead.
func BenchmarkStoreAppend64(b *testing.B) {
	store := benchStore(b)
	run := fmt.Sprint(time.Now().UnixNano())
	ctx := context.Background()
	runClients(b, func(i int) error {
		c, err := paymentCommit(run, i)
		if err == nil {
			_, err = store.Append(ctx, c)
		}
		return err
	})
}

// paymentCommit is the commit the writer would append for benchPayment(run, i).
func paymentCommit(run string, i int) (eventstore.Commit, error) {
	cmd := benchPayment(run, i)
	e := domain.SubsidyPaid{PaymentID: cmd.PaymentID, ProgramID: cmd.ProgramID, BeneficiaryID: cmd.BeneficiaryID,
		FundID: cmd.FundID, Amount: cmd.Amount, Date: cmd.Date, Document: cmd.Document,
		SubsidyType: domain.OneTimeStartup, RegionCode: region}
	typ, data, err := domain.Encode(e)
	if err != nil {
		return eventstore.Commit{}, fmt.Errorf("encode %T: %w", e, err)
	}
	req := request(fmt.Sprintf("bench-%s-%d", run, i), cmd)
	return eventstore.Commit{CommandID: req.CommandID, Fingerprint: req.Fingerprint, Events: []eventstore.Event{{
		Stream: e.StreamID(), Type: typ, Data: data,
		Meta: eventstore.Meta{BusinessDate: e.BusinessDate().String(), Actor: req.Actor,
			CommandID: req.CommandID, CorrelationID: req.CorrelationID, Fingerprint: req.Fingerprint},
	}}}, nil
}
