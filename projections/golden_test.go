package projections

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden views in testdata from the current implementation")

// goldenFile holds every view of the golden logs, one JSON line per query,
// as the implementation before the rebuild optimisations rendered them.
const goldenFile = "testdata/golden-views.jsonl.gz"

// goldenCommit is commit with event ids derived from the command's number,
// so that the views (which show event ids) are the same on every run.
func goldenCommit(seq int, evs ...domain.Event) eventstore.Commit {
	c := commit(seq, evs...)
	for i := range c.Events {
		var id uuid.UUID
		binary.BigEndian.PutUint64(id[:8], uint64(seq))
		binary.BigEndian.PutUint64(id[8:], uint64(i))
		c.Events[i].ID = id
	}
	return c
}

// goldenStore appends commands one commit each.
func goldenStore(tb testing.TB, history [][]domain.Event) *memory.Store {
	tb.Helper()
	s := memory.New()
	for i, evs := range history {
		if _, err := s.Append(context.Background(), goldenCommit(i+1, evs...)); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// busyPerson places one person many times in one year in many villages,
// reversing some placements: the case where real-name counting is costly.
func busyPerson() [][]domain.Event {
	rng := rand.New(rand.NewPCG(9, 9))
	var out [][]domain.Event
	for _, r := range propRegions {
		out = append(out, []domain.Event{r})
	}
	var placed []domain.PlacementRecorded
	for i := range 400 {
		leaf := propLeaves[rng.IntN(len(propLeaves))]
		d := domain.DateOf(date("2018-01-01").Time().AddDate(0, 0, rng.IntN(365)))
		if rng.IntN(8) == 0 && len(placed) > 0 {
			p := placed[rng.IntN(len(placed))]
			rev := domain.DateOf(p.Date.Time().AddDate(0, 0, rng.IntN(60)))
			out = append(out, []domain.Event{domain.PlacementReversed{PlacementID: p.PlacementID, BeneficiaryID: p.BeneficiaryID,
				RegionCode: p.RegionCode, PlacementDate: p.Date, Indicators: p.Indicators, Date: rev, Reason: "error"}})
			continue
		}
		p := placement(fmt.Sprint("BP", i), "busy", leaf, d.String(), domain.NewUrbanJobs, domain.HardToEmployPlaced)
		placed = append(placed, p)
		out = append(out, []domain.Event{p})
	}
	return out
}

// goldenLogs are the logs whose views are pinned.
func goldenLogs() map[string][][]domain.Event {
	var realistic [][]domain.Event
	generateLog(30000, 5, func(evs []domain.Event) { realistic = append(realistic, evs) })
	return map[string][][]domain.Event{
		"realistic": realistic,
		"random":    randomHistory(31, 1500),
		"busy":      busyPerson(),
	}
}

// goldenWriter writes one line per query: the query, the answer, the error.
type goldenWriter struct {
	tb  testing.TB
	buf bytes.Buffer
}

func (w *goldenWriter) put(query string, v any, err error) {
	data, merr := json.Marshal(struct {
		Q   string `json:"q"`
		V   any    `json:"v"`
		Err string `json:"err,omitempty"`
	}{query, v, errText(err)})
	if merr != nil {
		w.tb.Fatal(merr)
	}
	w.buf.Write(data)
	w.buf.WriteByte('\n')
}

// renderAll queries every view of p: every region's progress (all issuers
// and one), portfolio (all years and each), every fund, loan and account
// history, and the drill-downs of regions with children, now and as of
// some dates.
func renderAll(w *goldenWriter, name string, p *Projector) {
	s := p.s
	years := yearsOf(s)
	asOfs := []string{"", "2017-06-30", "2018-12-31", "2020-03-15"}
	codes := make([]string, 0, len(s.Regions))
	for _, r := range s.Regions {
		codes = append(codes, r.Code)
	}
	slices.Sort(codes)
	w.put(name+" regions", p.Regions(), nil)
	for _, asOf := range asOfs {
		for _, code := range codes {
			for _, y := range years {
				rep, err := p.Progress(code, y, "", asOf)
				w.put(fmt.Sprintf("%s progress %s %d %q", name, code, y, asOf), rep, err)
				pf, err := p.Portfolio(code, y, asOf)
				w.put(fmt.Sprintf("%s portfolio %s %d %q", name, code, y, asOf), pf, err)
			}
			rep, err := p.Progress(code, years[0], string(domain.City), asOf)
			w.put(fmt.Sprintf("%s progress city %s %q", name, code, asOf), rep, err)
			pf, err := p.Portfolio(code, 0, asOf)
			w.put(fmt.Sprintf("%s portfolio %s all %q", name, code, asOf), pf, err)
		}
		for _, id := range sortedKeys(s.Funds) {
			rep, err := p.Fund(id, asOf)
			w.put(fmt.Sprintf("%s fund %s %q", name, id, asOf), rep, err)
		}
		for _, id := range sortedKeys(s.Loans) {
			rep, err := p.Loan(id, asOf)
			w.put(fmt.Sprintf("%s loan %s %q", name, id, asOf), rep, err)
		}
	}
	for _, a := range sortedKeys(s.AccountIdx) {
		h, err := p.History(a, "", "")
		w.put(fmt.Sprintf("%s history %s", name, a), h, err)
		h, err = p.History(a, "2018-01-01", "2018-06-30")
		w.put(fmt.Sprintf("%s history %s 2018H1", name, a), h, err)
	}
	renderDrillDowns(w, name, p, codes, years, asOfs)
}

func renderDrillDowns(w *goldenWriter, name string, p *Projector, codes []string, years []int, asOfs []string) {
	for _, code := range codes {
		if len(p.s.Regions[p.s.RegionIdx[code]].Children) == 0 && code != codes[len(codes)-1] {
			continue
		}
		for _, asOf := range asOfs[:2] {
			for _, y := range years {
				for _, ind := range domain.Indicators {
					dd, err := p.DrillDown(DrillQuery{View: viewProgress, Figure: string(ind), Region: code, Year: y, AsOf: asOf})
					w.put(fmt.Sprintf("%s drill progress %s %s %d %q", name, code, ind, y, asOf), dd, err)
				}
			}
			for _, fig := range sortedKeys(portfolioFigures) {
				dd, err := p.DrillDown(DrillQuery{View: viewPortfolio, Figure: fig, Region: code, AsOf: asOf})
				w.put(fmt.Sprintf("%s drill portfolio %s %s %q", name, code, fig, asOf), dd, err)
			}
		}
	}
}

// yearsOf lists the years from the earliest to the latest business date.
func yearsOf(s *state) []int {
	lo, hi := 0, 0
	for e := range s.Events.all {
		if e.Day == minDay {
			continue
		}
		y := e.Day.year()
		if lo == 0 || y < lo {
			lo = y
		}
		hi = max(hi, y)
	}
	var out []int
	for y := lo; y <= hi; y++ {
		out = append(out, y)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestViewsEqualGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("golden views take a few seconds")
	}
	logs := goldenLogs()
	w := &goldenWriter{tb: t}
	for _, name := range sortedKeys(logs) {
		renderAll(w, name, project(t, goldenStore(t, logs[name])))
	}
	path := filepath.FromSlash(goldenFile)
	if *updateGolden {
		writeGzip(t, path, w.buf.Bytes())
		return
	}
	want := readGzip(t, path)
	if bytes.Equal(w.buf.Bytes(), want) {
		return
	}
	got := bufio.NewScanner(bytes.NewReader(w.buf.Bytes()))
	exp := bufio.NewScanner(bytes.NewReader(want))
	got.Buffer(nil, 1<<26)
	exp.Buffer(nil, 1<<26)
	for line := 1; ; line++ {
		g, e := got.Scan(), exp.Scan()
		if !g || !e {
			t.Fatalf("views end at a different line %d (got more: %v, want more: %v)", line, g, e)
		}
		if !bytes.Equal(got.Bytes(), exp.Bytes()) {
			t.Fatalf("view line %d differs from %s:\ngot  %s\nwant %s", line, goldenFile,
				firstDiff(got.Text(), exp.Text()), firstDiff(exp.Text(), got.Text()))
		}
	}
}

func writeGzip(tb testing.TB, path string, data []byte) {
	tb.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("wrote %s: %d lines, %d bytes (%d compressed)", path, bytes.Count(data, []byte("\n")), len(data), buf.Len())
}

func readGzip(tb testing.TB, path string) []byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("%v (write it with go test -run TestViewsEqualGolden -update)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(zr); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
