package projections

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
)

// benchEvents is the size of the benchmarks' log.
const benchEvents = 1_000_000

// benchWriters append the benchmark log concurrently, one command per
// Append, as a busy server's clients would (the store group-commits them).
const benchWriters = 64

// benchLog is the benchmark log, built once and cached under the temp dir
// (it survives runs: building it takes a while).
var benchLog struct {
	once sync.Once
	dir  string
	err  error
}

func benchLogDir(b *testing.B) string {
	benchLog.once.Do(func() {
		benchLog.dir = filepath.Join(os.TempDir(), fmt.Sprintf("ledger-projections-bench-%d-v2", benchEvents))
		if _, err := os.Stat(filepath.Join(benchLog.dir, "complete")); err == nil {
			return
		}
		os.RemoveAll(benchLog.dir)
		benchLog.err = buildBenchLog(benchLog.dir)
		if benchLog.err == nil {
			benchLog.err = os.WriteFile(filepath.Join(benchLog.dir, "complete"), nil, 0o644)
		}
	})
	if benchLog.err != nil {
		b.Fatal(benchLog.err)
	}
	return benchLog.dir
}

func buildBenchLog(dir string) error {
	s, err := jetstream.OpenEmbedded(context.Background(), filepath.Join(dir, "log"))
	if err != nil {
		return err
	}
	defer s.Close()
	work := make(chan eventstore.Commit, benchWriters)
	errs := make(chan error, benchWriters)
	var wg sync.WaitGroup
	for range benchWriters {
		wg.Go(func() {
			for c := range work {
				if _, err := s.Append(context.Background(), c); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	seq := 0
	generateLog(benchEvents, 1, func(evs []domain.Event) {
		seq++
		work <- commit(seq, evs...)
	})
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

func openBenchLog(b *testing.B) *jetstream.Store {
	dir := benchLogDir(b)
	s, err := jetstream.OpenEmbedded(context.Background(), filepath.Join(dir, "log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkRawRead reads the benchmark log through Store.Read with no
// projection work: the ceiling BenchmarkRebuildAll is measured against.
func BenchmarkRawRead(b *testing.B) {
	s := openBenchLog(b)
	events := 0
	for b.Loop() {
		n := 0
		if err := s.Read(context.Background(), 0, func(eventstore.Event) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		events += n
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRebuildAll rebuilds every view from position 0 of the benchmark
// log as a server rebuilds them (a new version of the views, a lost
// snapshot): from the log's sealed segments (sealed.go), which the
// projector wrote as it first applied the log, then the log past them.
func BenchmarkRebuildAll(b *testing.B) {
	s := openBenchLog(b)
	dir := sealedBenchSegments(b, s)
	benchRebuild(b, s, Config{Sealed: dir})
}

// BenchmarkRebuildAllFromLog rebuilds every view from the log alone,
// decoding every event's JSON: a first start, with no segments yet.
func BenchmarkRebuildAllFromLog(b *testing.B) {
	benchRebuild(b, openBenchLog(b), Config{})
}

// BenchmarkRebuildAllSealing is BenchmarkRebuildAllFromLog writing the
// sealed segments as it goes, into a new directory each time: what a
// server's first start costs.
func BenchmarkRebuildAllSealing(b *testing.B) {
	s := openBenchLog(b)
	root := b.TempDir()
	n := 0
	benchRebuildWith(b, s, func() Config {
		n++
		return Config{Sealed: filepath.Join(root, strconv.Itoa(n))}
	})
}

// sealedBenchSegments returns the directory of the benchmark log's sealed
// segments, written (untimed) by a rebuild when they are missing or were
// written by another version; a rebuild that finds them valid rewrites
// nothing.
func sealedBenchSegments(b *testing.B, s *jetstream.Store) string {
	dir := filepath.Join(benchLogDir(b), "sealed")
	p, err := New(Config{Sealed: dir})
	if err != nil {
		b.Fatal(err)
	}
	if err := p.CatchUp(context.Background(), s); err != nil {
		b.Fatal(err)
	}
	return dir
}

func benchRebuild(b *testing.B, s *jetstream.Store, cfg Config) {
	benchRebuildWith(b, s, func() Config { return cfg })
}

// benchRebuildWith rebuilds the views of s from position 0 into a new
// projector of config() each time. The rate counts the timed part only:
// not the collection that measures the heap after each rebuild, which
// the wall clock counted until session 6 (a full collection of the last
// rebuild's views, 5-8% of each iteration).
func benchRebuildWith(b *testing.B, s *jetstream.Store, config func() Config) {
	events := 0
	var heap uint64
	var gcCPU, userCPU float64
	var cycles uint64
	for b.Loop() {
		p, err := New(config())
		if err != nil {
			b.Fatal(err)
		}
		gc0, user0, n0 := cpuSeconds()
		if err := p.CatchUp(context.Background(), s); err != nil {
			b.Fatal(err)
		}
		gc1, user1, n1 := cpuSeconds()
		gcCPU, userCPU, cycles = gcCPU+gc1-gc0, userCPU+user1-user0, cycles+n1-n0
		events += p.s.Events.N
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapAlloc)
		runtime.KeepAlive(p)
		b.StartTimer()
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	// CPU time per event, which a busy machine disturbs less than the rate.
	b.ReportMetric(userCPU/float64(events)*1e9, "user-cpu-ns/event")
	b.ReportMetric(gcCPU/float64(events)*1e9, "gc-cpu-ns/event")
	b.ReportMetric(float64(cycles)/float64(b.N), "gc-cycles/op")
	if peak, ok := peakRSS(); ok {
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	}
}

// cpuSeconds returns the runtime's estimate of the CPU time spent so far
// collecting garbage, the process's user CPU time (the kernel's count: the
// runtime's own estimate moves only at collections, which a catch-up makes
// rare), and the collections so far.
func cpuSeconds() (gc, user float64, cycles uint64) {
	sample := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(sample)
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		user = time.Duration(ru.Utime.Nano()).Seconds()
	}
	return sample[0].Value.Float64(), user, sample[1].Value.Uint64()
}

// peakRSS is the process's peak resident memory (Linux only), which bounds
// what a rebuild took at its peak.
func peakRSS() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// benchViews is the views of the benchmark log, built once for the query benchmarks.
var benchViews struct {
	once sync.Once
	p    *Projector
}

func views(b *testing.B) *Projector {
	s := openBenchLog(b)
	benchViews.once.Do(func() { benchViews.p = project(b, s) })
	return benchViews.p
}

// queriesPerLoop makes every benchmark iteration a sample large enough for
// a p99, even under -benchtime 1x.
const queriesPerLoop = 2000

// benchQuery measures one query's latency and reports its p99.
func benchQuery(b *testing.B, query func(i int) error) {
	var lat []time.Duration
	i := 0
	for b.Loop() {
		for range queriesPerLoop {
			t := time.Now()
			if err := query(i); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
			i++
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
}

func BenchmarkQueryProgress(b *testing.B) {
	p := views(b)
	benchQuery(b, func(i int) error {
		_, err := p.Progress("610900", 2017+i%genYears, "", "")
		return err
	})
}

func BenchmarkQueryProgressAsOf(b *testing.B) {
	p := views(b)
	benchQuery(b, func(i int) error {
		_, err := p.Progress("610000", 2019, "", fmt.Sprintf("2019-%02d-15", 1+i%12))
		return err
	})
}

func BenchmarkQueryPortfolio(b *testing.B) {
	p := views(b)
	benchQuery(b, func(i int) error {
		_, err := p.Portfolio("610900", 2017+i%genYears, "")
		return err
	})
}

func BenchmarkQueryFundBalance(b *testing.B) {
	p := views(b)
	benchQuery(b, func(i int) error {
		_, err := p.Fund("EMP", fmt.Sprintf("2020-%02d-01", 1+i%12))
		return err
	})
}

func BenchmarkQueryBeneficiaryHistory(b *testing.B) {
	p := views(b)
	var accounts []string
	for name := range p.s.AccountIdx {
		if strings.HasPrefix(name, "beneficiary:") {
			accounts = append(accounts, name)
		}
	}
	sort.Strings(accounts)
	benchQuery(b, func(i int) error {
		_, err := p.History(accounts[i%len(accounts)], "", "")
		return err
	})
}

// BenchmarkReadSealed reads and decodes the benchmark log's sealed segments
// with no projection work: the part of BenchmarkRebuildAll that replaces
// the store's read and the JSON decoding.
func BenchmarkReadSealed(b *testing.B) {
	s := openBenchLog(b)
	p, err := New(Config{Sealed: sealedBenchSegments(b, s)})
	if err != nil {
		b.Fatal(err)
	}
	events := 0
	for b.Loop() {
		runs, free := make(chan []decoded, sealedQueue), make(chan []decoded, sealedQueue+2)
		go func() {
			defer close(runs)
			if err := p.readSegments(context.Background(), s, 0, runs, free); err != nil {
				b.Error(err)
			}
		}()
		for run := range runs {
			events += len(run)
			free <- run[:0]
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
