package jetstream

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/hrss-ledger/ledger/eventstore"
)

// Benchmark shapes.
const (
	benchWriters     = 64        // concurrent publishers or appenders
	benchPayloadLen  = 300       // bytes of one raw message
	readAllEvents    = 1_000_000 // events in BenchmarkReadAll's log
	readAllBuildBusy = 64        // appenders building that log
)

// benchPayload is a ~300-byte JSON body, the size of a typical ledger event.
var benchPayload = func() []byte {
	b := []byte(`{"loan_id":"L2017-000123","beneficiary_id":"b7f3c1d2e4a5968778695a4b3c2d1e0f","amount":"12345.67","date":"2017-03-01","bank":"bank:ICBC-SZ","fund_id":"F-SZ-2017","note":"`)
	for len(b) < benchPayloadLen-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}()

func benchEvent(i int) eventstore.Commit {
	return eventstore.Commit{
		CommandID:   fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i),
		Fingerprint: "f3a1c9e2",
		Events: []eventstore.Event{{
			Stream: fmt.Sprintf("loan-L2017-%06d", i%100_000),
			Type:   "loan.repaid.v1",
			Data:   benchPayload,
			Meta: eventstore.Meta{
				BusinessDate: "2017-03-01", Actor: "bank:ICBC-SZ",
				CorrelationID: fmt.Sprintf("case-%d", i),
			},
		}},
	}
}

// runConcurrent runs op b.N times from `writers` goroutines and reports
// events/s (eventsPerOp per op) and the p50 and p99 latency of op.
func runConcurrent(b *testing.B, writers, eventsPerOp int, op func(i int) error) {
	work := make(chan int, writers)
	latencies := make([][]time.Duration, writers)
	var wg sync.WaitGroup
	var failed sync.Once
	for w := range writers {
		wg.Go(func() {
			for i := range work {
				start := time.Now()
				if err := op(i); err != nil {
					failed.Do(func() { b.Error(err) })
				}
				latencies[w] = append(latencies[w], time.Since(start))
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
	b.ReportMetric(float64(n*eventsPerOp)/elapsed.Seconds(), "events/s")
	b.ReportMetric(percentile(all, 0.50), "p50-ms")
	b.ReportMetric(percentile(all, 0.99), "p99-ms")
}

func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(q*float64(len(sorted)-1))]) / float64(time.Millisecond)
}

// rawServer starts an embedded JetStream server with one file stream.
func rawServer(b *testing.B, syncAlways bool) jetstream.JetStream {
	srv, err := server.NewServer(&server.Options{
		JetStream: true, StoreDir: b.TempDir(), DontListen: true,
		SyncAlways: syncAlways, NoSigs: true, NoLog: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(serverReadyTimeout) {
		b.Fatal("server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		nc.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	_, err = js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: "RAW", Subjects: []string{"raw"}, Storage: jetstream.FileStorage,
	})
	if err != nil {
		b.Fatal(err)
	}
	return js
}

func benchRawPublish(b *testing.B, syncAlways bool) {
	js := rawServer(b, syncAlways)
	ctx := context.Background()
	runConcurrent(b, benchWriters, 1, func(int) error {
		_, err := js.Publish(ctx, "raw", benchPayload)
		return err
	})
}

// BenchmarkRawJetStreamSyncAlways is the floor: one JetStream message per
// event, fsync per message, 64 concurrent synchronous publishers.
func BenchmarkRawJetStreamSyncAlways(b *testing.B) { benchRawPublish(b, true) }

// BenchmarkRawJetStreamDefault is the same with JetStream's default
// (unsafe for a ledger) flush every two minutes.
func BenchmarkRawJetStreamDefault(b *testing.B) { benchRawPublish(b, false) }

// BenchmarkAppendDurable64 is the store's Append from 64 goroutines, one
// event per commit, every answer after fsync.
func BenchmarkAppendDurable64(b *testing.B) {
	s, err := OpenEmbedded(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	runConcurrent(b, benchWriters, 1, func(i int) error {
		_, err := s.Append(ctx, benchEvent(i))
		return err
	})
}

// readAllLog is BenchmarkReadAll's log, built once per test binary run.
var readAllLog struct {
	once sync.Once
	dir  string
	err  error
}

// readAllDir returns a data directory holding a readAllEvents log, built by
// single-event appends from readAllBuildBusy goroutines.
func readAllDir(b *testing.B) string {
	readAllLog.once.Do(func() {
		readAllLog.dir, readAllLog.err = os.MkdirTemp("", "ledger-readall-")
		if readAllLog.err == nil {
			readAllLog.err = buildLog(readAllLog.dir, readAllEvents)
		}
	})
	if readAllLog.err != nil {
		b.Fatal(readAllLog.err)
	}
	return readAllLog.dir
}

func buildLog(dir string, events int) error {
	s, err := OpenEmbedded(context.Background(), dir)
	if err != nil {
		return err
	}
	defer s.Close()
	work := make(chan int, readAllBuildBusy)
	errs := make(chan error, readAllBuildBusy)
	var wg sync.WaitGroup
	for range readAllBuildBusy {
		wg.Go(func() {
			for i := range work {
				if _, err := s.Append(context.Background(), benchEvent(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range events {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

// BenchmarkReadAll reads the whole 1,000,000-event log through Store.Read.
func BenchmarkReadAll(b *testing.B) {
	dir := readAllDir(b)
	opened := time.Now()
	s, err := OpenEmbedded(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	openSeconds := time.Since(opened).Seconds()
	b.Cleanup(func() { s.Close() })
	events := 0
	start := time.Now()
	for b.Loop() {
		n := 0
		err := s.Read(context.Background(), 0, func(eventstore.Event) error {
			n++
			return nil
		})
		if err != nil || n != readAllEvents {
			b.Fatalf("read %d events, %v; want %d", n, err, readAllEvents)
		}
		events += n
	}
	b.ReportMetric(float64(events)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(readAllEvents)/float64(s.lastSeq), "events/msg")
	b.ReportMetric(openSeconds, "open-s") // rebuilding the state: chain check, idempotency map
}

// BenchmarkRawRead reads the same log's messages through a raw ordered
// consumer without decoding them: the transport's ceiling.
func BenchmarkRawRead(b *testing.B) {
	dir := readAllDir(b)
	s, err := OpenEmbedded(context.Background(), dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	msgs := 0
	start := time.Now()
	for b.Loop() {
		msgs += rawReadAll(b, s)
	}
	elapsed := time.Since(start).Seconds()
	b.ReportMetric(float64(msgs)/elapsed, "msgs/s")
	b.ReportMetric(float64(msgs)*readAllEvents/float64(s.lastSeq)/elapsed, "events/s")
}

func rawReadAll(b *testing.B, s *Store) int {
	done := make(chan struct{})
	n := uint64(0)
	sub, err := s.legacy.Subscribe(s.cfg.subject, func(m *nats.Msg) {
		if n++; n == s.lastSeq {
			close(done)
		}
	}, nats.OrderedConsumer(), nats.BindStream(s.cfg.stream))
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(consumerPendingMsgs, consumerPendingBytes); err != nil {
		b.Fatal(err)
	}
	<-done
	return int(n)
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		os.Exit(crashChild(filepath.Clean(dir)))
	}
	code := m.Run()
	if readAllLog.dir != "" {
		os.RemoveAll(readAllLog.dir)
	}
	os.Exit(code)
}

// BenchmarkOpen opens the 1,000,000-event log: reading the cache, checking
// the hash chain and rebuilding the state (versions, command ids, index),
// from the log alone or resuming from the state saved at the last close.
func BenchmarkOpen(b *testing.B) {
	dir := readAllDir(b)
	for _, resume := range []bool{false, true} {
		name := map[bool]string{false: "whole log", true: "resuming from the saved state"}[resume]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if !resume {
					os.Remove(filepath.Join(dir, "cache", snapshotFileName))
				}
				s, err := OpenEmbedded(context.Background(), dir)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Close() // saves the state: not part of opening
				b.StartTimer()
			}
			b.ReportMetric(float64(readAllEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
