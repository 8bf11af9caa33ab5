package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/eventstore/writer"
)

var scaleFlag = flag.Bool("scale", false, "run BenchmarkScale10M (or set LEDGER_SCALE=1)")

// Shape of the scale benchmark.
const (
	scaleDefaultEvents = 10_000_000
	scalePersons       = 100_000
	scaleCounties      = 10
	scaleLoans         = 20_000
	scaleChunk         = 8192 // commands handed to the writer at once
	scaleRebuildBound  = 10 * time.Minute
	scaleStopBound     = 5 * time.Minute // a graceful stop writes the snapshots
)

// BenchmarkScale10M builds a log of 10,000,000 realistic events (placements,
// subsidy payments, loans and repayments over 100,000 people in ten
// counties) through the real writer on the embedded store, then starts
// `ledger serve` on it three times as a child process and reports the
// store's size on disk and, for each start, the time until the server
// answers a query at the log head and its peak RSS: rebuild-s and rss-MiB
// with nothing but the log (the store's indexes, the write side, the audit
// tree and the views all rebuilt from it), views-rebuild-* with the views
// thrown away (the write side from the snapshot the previous graceful stop
// wrote), restart-* with every snapshot. LEDGER_SCALE_GOMEMLIMIT is passed
// to the server as GOMEMLIMIT. It runs only when asked:
// `go test -run '^$' -bench Scale10M -benchtime 1x ./cmd/ledger -scale`;
// LEDGER_SCALE_EVENTS sets another size. LEDGER_SCALE_DIR keeps the data.
func BenchmarkScale10M(b *testing.B) {
	if !*scaleFlag && os.Getenv("LEDGER_SCALE") != "1" {
		b.Skip("long: run with -scale or LEDGER_SCALE=1")
	}
	events := scaleDefaultEvents
	if n, err := strconv.Atoi(os.Getenv("LEDGER_SCALE_EVENTS")); err == nil && n > 0 {
		events = n
	}
	data := os.Getenv("LEDGER_SCALE_DIR")
	if data == "" {
		data = b.TempDir()
	}
	var env []string
	if limit := os.Getenv("LEDGER_SCALE_GOMEMLIMIT"); limit != "" {
		env = append(env, "GOMEMLIMIT="+limit)
	}
	for b.Loop() {
		built := time.Now()
		head := buildScaleLog(b, data, events)
		b.Logf("built %d events in %v", head, time.Since(built).Round(time.Second))
		size := dirBytes(b, filepath.Join(data, "nats"))
		// Opening the log above replayed it in this process: give that
		// memory back now, or the runtime's scavenger returns it page by
		// page while the server below is timed on the same two cores.
		debug.FreeOSMemory()
		// Cold: nothing but the log. Each start but the last ends with a
		// graceful stop, which writes the snapshots the next one may use.
		removeSnapshots(b, data, "views", "writer", filepath.Join("nats", "cache", "state.snapshot"))
		cold := measureStart(b, data, head, env)
		removeSnapshots(b, data, "views")
		views := measureStart(b, data, head, env)
		restart := measureStart(b, data, head, env)
		b.ReportMetric(float64(head), "events")
		b.ReportMetric(float64(size)/(1<<20), "store-MiB")
		b.ReportMetric(cold.ready.Seconds(), "rebuild-s")
		b.ReportMetric(float64(cold.rss)/(1<<20), "rss-MiB")
		b.ReportMetric(views.ready.Seconds(), "views-rebuild-s")
		b.ReportMetric(float64(views.rss)/(1<<20), "views-rebuild-rss-MiB")
		b.ReportMetric(restart.ready.Seconds(), "restart-s")
		b.ReportMetric(float64(restart.rss)/(1<<20), "restart-rss-MiB")
	}
}

// removeSnapshots deletes the named snapshots (files or directories) under data, so
// that the next start rebuilds what they held from the log.
func removeSnapshots(b *testing.B, data string, dirs ...string) {
	for _, d := range dirs {
		if err := os.RemoveAll(filepath.Join(data, d)); err != nil {
			b.Fatal(err)
		}
	}
}

// buildScaleLog appends commands through the writer until the log holds
// at least events events, and returns the head.
func buildScaleLog(b *testing.B, data string, events int) uint64 {
	ctx := context.Background()
	store, err := jetstream.OpenEmbedded(ctx, filepath.Join(data, "nats"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	w, err := writer.Open(ctx, store)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	switch head := w.Head(); {
	case head >= uint64(events):
		return head // a log kept in LEDGER_SCALE_DIR by an earlier run
	case head > 0:
		b.Fatalf("%s holds %d events, fewer than %d: remove it or ask for fewer", data, head, events)
	}
	gen := &scaleGen{rng: rand.New(rand.NewPCG(7, 9))}
	execute(b, w, gen.setup())
	for n := 0; w.Head() < uint64(events); n++ {
		execute(b, w, gen.chunk(n))
		if n%100 == 0 {
			b.Logf("%d events", w.Head())
		}
	}
	return w.Head()
}

func execute(b *testing.B, w *writer.Writer, cmds []domain.Command) {
	reqs := make([]writer.Request, len(cmds))
	for i, c := range cmds {
		reqs[i] = writer.Request{Command: c, CommandID: fmt.Sprintf("scale-%d-%d", time.Now().UnixNano(), i),
			Fingerprint: "scale", Actor: "scale-officer"}
	}
	_, errs := w.ExecuteAll(context.Background(), reqs)
	for i, err := range errs {
		if err != nil {
			b.Fatalf("%T: %v", cmds[i], err)
		}
	}
}

// scaleGen makes the commands of a province's year.
type scaleGen struct {
	rng     *rand.Rand
	persons []string
	next    int
}

func (g *scaleGen) setup() []domain.Command {
	day := domain.MustDate("2026-01-02")
	cmds := []domain.Command{domain.DefineRegion{Code: "610000", Name: "陕西省", Date: day},
		domain.OpenFund{FundID: "EMP", Name: "就业补助资金", Kind: domain.FundEmploymentSubsidy, RegionCode: "610000", Date: day},
		domain.AllocateFund{FundID: "EMP", Amount: decimal.RequireFromString("900000000000"), Date: day, Document: "陕财社〔2026〕1号"},
		domain.OpenFund{FundID: "GUAR", Name: "创业担保基金", Kind: domain.FundGuarantee, RegionCode: "610000", Date: day},
		domain.DefineProgram{ProgramID: "JOBSEARCH", SubsidyType: domain.JobSearch, Name: "求职创业补贴",
			AmountRule: domain.AmountRule{Fixed: decimal.RequireFromString("500")}, ValidFrom: day, ValidTo: domain.MustDate("2026-12-31")}}
	for c := range scaleCounties {
		cmds = append(cmds, domain.DefineRegion{Code: fmt.Sprintf("6109%02d", c+1), Name: fmt.Sprintf("县%d", c), ParentCode: "610000", Date: day})
	}
	for i := range scalePersons {
		id := randomIDNumber(g.rng)
		g.persons = append(g.persons, fmt.Sprintf("p%07d", i))
		cmds = append(cmds, domain.RegisterBeneficiary{BeneficiaryID: g.persons[i], Kind: domain.Person, IDNumber: id,
			RegionCode: fmt.Sprintf("6109%02d", i%scaleCounties+1), Date: day,
			Categories: []domain.CategoryPeriod{{Category: "returning_migrant", From: day, To: domain.MustDate("2026-12-31")}}})
	}
	for i := range scaleLoans {
		cmds = append(cmds, g.loan(i))
	}
	return cmds
}

func (g *scaleGen) loan(i int) domain.Command {
	return domain.IssueLoan{LoanID: fmt.Sprintf("L%06d", i), BorrowerID: g.persons[i%len(g.persons)], BorrowerKind: domain.Individual,
		Bank: "安康农商银行", Principal: decimal.RequireFromString("100000"), AnnualRate: decimal.RequireFromString("0.0435"),
		TermMonths: 36, IssueDate: domain.MustDate("2026-01-15"), GuaranteeFundID: "GUAR",
		RegionCode: fmt.Sprintf("6109%02d", i%scaleCounties+1), JobsCreated: 2}
}

var scaleKinds = []domain.PlacementKind{"urban_job", "rural_transfer", "public_welfare_post", "community_factory", "startup"}

// chunk returns the next scaleChunk commands: half placements, a third
// subsidies, the rest loan repayments.
func (g *scaleGen) chunk(n int) []domain.Command {
	cmds := make([]domain.Command, 0, scaleChunk)
	for range scaleChunk {
		g.next++
		person := g.persons[g.rng.IntN(len(g.persons))]
		day := domain.MustDate(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, g.rng.IntN(300)).Format(time.DateOnly))
		switch r := g.rng.IntN(6); {
		case r < 3:
			cmds = append(cmds, domain.RecordPlacement{PlacementID: fmt.Sprintf("P%d", g.next), BeneficiaryID: person,
				Kind: scaleKinds[g.rng.IntN(len(scaleKinds))], RegionCode: fmt.Sprintf("6109%02d", g.rng.IntN(scaleCounties)+1), Date: day})
		case r < 5:
			cmds = append(cmds, domain.PaySubsidy{PaymentID: fmt.Sprintf("S%d", g.next), ProgramID: "JOBSEARCH", BeneficiaryID: person,
				FundID: "EMP", Amount: decimal.RequireFromString("500"), Date: day, Document: "人社发〔2026〕8号"})
		default:
			cmds = append(cmds, domain.RepayLoan{LoanID: fmt.Sprintf("L%06d", g.rng.IntN(scaleLoans)),
				Principal: decimal.RequireFromString("10"), Interest: decimal.RequireFromString("0.36"), Date: day})
		}
	}
	return cmds
}

// started is what one start of the server measured.
type started struct {
	ready time.Duration // until it answered a query reflecting the head
	rss   int64         // peak resident set size up to then
}

// measureStart starts `ledger serve` on the log, waits until it answers a
// query that reflects the head, records its peak RSS and stops it
// gracefully (SIGTERM), as an operator's restart would.
func measureStart(b *testing.B, data string, head uint64, env []string) started {
	begin := time.Now()
	c := startChildEnv(b, env, freeAddr(b), "--data", data, "--tokens", writeTokens(b))
	client := &http.Client{Timeout: scaleRebuildBound}
	req, _ := http.NewRequest(http.MethodGet, c.url+"/v1/funds/EMP", nil)
	req.Header.Set("Authorization", "Bearer "+viewer)
	req.Header.Set("X-Min-Position", strconv.FormatUint(head, 10))
	for {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(begin) > scaleRebuildBound {
			c.kill()
			b.Fatalf("views not at %d after %v: %v", head, scaleRebuildBound, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	out := started{ready: time.Since(begin), rss: peakRSS(b, c.cmd.Process.Pid)}
	c.stop(scaleStopBound)
	b.Log(startTimeline(c.output()))
	return out
}

// startTimeline is the server's own account of where a start went, on one
// line (a benchmark's log is cut after ten lines): each step it logged as
// "start: <step> ... took=<time since start>".
func startTimeline(logs string) string {
	var steps []string
	for _, line := range strings.Split(logs, "\n") {
		_, rest, ok := strings.Cut(line, "INFO start: ")
		if !ok {
			continue
		}
		var words []string
		took := ""
		for _, f := range strings.Fields(rest) {
			if k, v, attr := strings.Cut(f, "="); !attr {
				words = append(words, f)
			} else if k == "took" {
				took = v
			}
		}
		steps = append(steps, strings.Join(words, " ")+" "+took)
	}
	return "start: " + strings.Join(steps, ", ")
}

// peakRSS reads a process's high-water resident set size from /proc.
func peakRSS(b *testing.B, pid int) int64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM in /proc status")
	return 0
}

// dirBytes sums the sizes of the files under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}
