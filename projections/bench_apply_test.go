package projections

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
)

// placementsOfOnePerson is how often BenchmarkPlaceOnePersonOften places its person.
const placementsOfOnePerson = 2000

// BenchmarkPlaceOnePersonOften places one person many times in one year
// across villages, after one reversed placement (so that every recount
// takes the general road): each new placement's recount looks at the
// person's earlier ones, which must stay cheap per placement.
func BenchmarkPlaceOnePersonOften(b *testing.B) {
	start := date("2018-01-01").Time()
	placed := 0
	for b.Loop() {
		s := newState()
		pos := uint64(0)
		apply := func(ev domain.Event) {
			pos++
			s.apply(envelope{Pos: pos, Type: ev.EventType(), Day: dayOf(ev.BusinessDate()), Business: true}, ev, nil)
			s.settleOpened()
		}
		for _, r := range propRegions {
			apply(r)
		}
		first := placement("P0", "busy", "610902", "2018-01-01", domain.NewUrbanJobs)
		apply(first)
		apply(domain.PlacementReversed{PlacementID: "P0", BeneficiaryID: "busy", RegionCode: "610902",
			PlacementDate: first.Date, Indicators: first.Indicators, Date: date("2018-01-05")})
		for i := range placementsOfOnePerson {
			d := domain.DateOf(start.AddDate(0, 0, (i*37)%365))
			apply(placement(fmt.Sprint("P", i+1), "busy", propLeaves[i%len(propLeaves)], d.String(), domain.NewUrbanJobs))
		}
		placed += placementsOfOnePerson
	}
	b.ReportMetric(float64(b.Elapsed())/float64(placed), "ns/placement")
}

// BenchmarkApply applies the benchmark log, decoded beforehand, on one
// goroutine: the two lanes of a catch-up (lanes.go) one after the other,
// without reading or decoding. Each lane's CPU time per event is reported
// too, which other work on a shared machine disturbs far less than the rate.
func BenchmarkApply(b *testing.B) {
	log := decodedBenchLog(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var mainCPU, coversCPU time.Duration
	events := 0
	for b.Loop() {
		s := newState()
		start := threadCPU(b)
		for i := range log {
			s.applyMain(log[i].env, log[i].ev, nil)
			if (i+1)%decodeBatchEvents == 0 {
				s.settleOpened() // as a batch's end does (showLocked)
			}
		}
		s.settleOpened()
		mid := threadCPU(b)
		var lane []coverEvent
		for i := 0; i < len(log); i += decodeBatchEvents {
			lane = appendCoverEvents(lane[:0], log[i:min(i+decodeBatchEvents, len(log))])
			s.applyCoverEvents(lane)
			s.settleOpened()
		}
		mainCPU, coversCPU = mainCPU+mid-start, coversCPU+threadCPU(b)-mid
		events += len(log)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(mainCPU.Nanoseconds())/float64(events), "main-cpu-ns/event")
	b.ReportMetric(float64(coversCPU.Nanoseconds())/float64(events), "covers-cpu-ns/event")
}

// decodedBenchLog reads and decodes the benchmark log.
func decodedBenchLog(b *testing.B) []decoded {
	s := openBenchLog(b)
	syms := domain.NewSymbols()
	var out []decoded
	err := s.Read(context.Background(), 0, func(e eventstore.Event) error {
		out = append(out, decode(&e, syms))
		return out[len(out)-1].err
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// threadCPU is the CPU time the calling thread has used.
func threadCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		b.Skipf("no per-thread CPU time here: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageThread is Linux's RUSAGE_THREAD.
const rusageThread = 1
