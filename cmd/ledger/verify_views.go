package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/projections"
)

// maxReportedMismatches bounds the view mismatches a report lists.
const maxReportedMismatches = 20

// viewsReport says whether the live views (their snapshot under DIR/views)
// are what the log makes of them.
type viewsReport struct {
	Compared   bool     `json:"compared"`
	Position   uint64   `json:"position,omitempty"` // the snapshot's log position, where both are compared
	Queries    int      `json:"queries,omitempty"`
	Mismatches []string `json:"mismatches,omitempty"`
	Note       string   `json:"note,omitempty"`
}

// errViewsDiffer makes `ledger verify` exit non-zero when the live views
// are not the ones the log rebuilds.
var errViewsDiffer = errors.New("the live views differ from the views rebuilt from the log")

// compareViews rebuilds the views from the log up to the live snapshot's
// position and compares every root region's progress and portfolio, for
// every year the log names, and every fund, as JSON.
func compareViews(ctx context.Context, log verifiable, dir string) (viewsReport, error) {
	if _, err := os.Stat(dir); err != nil {
		return viewsReport{Note: "no live views to compare (" + dir + " is missing)"}, nil
	}
	live, err := projections.New(projections.Config{Dir: dir})
	if err != nil {
		return viewsReport{}, err
	}
	at := live.Position()
	if at == 0 {
		return viewsReport{Note: "no usable snapshot of the live views"}, nil
	}
	seen := newLogFacts()
	rebuilt, err := projections.New(projections.Config{})
	if err != nil {
		return viewsReport{}, err
	}
	if err := rebuilt.CatchUp(ctx, upTo{log: log, last: at, seen: seen.add}); err != nil {
		return viewsReport{}, fmt.Errorf("rebuild views: %w", err)
	}
	r := viewsReport{Compared: true, Position: at}
	if got := rebuilt.Position(); got != at {
		r.Mismatches = append(r.Mismatches, fmt.Sprintf("the live views reflect the log up to position %d, the log read ends at %d: events are missing from its end", at, got))
		return r, fmt.Errorf("%w: %s", errViewsDiffer, r.Mismatches[0])
	}
	for _, q := range seen.queries(rebuilt.Regions(), rebuilt.FundIDs()) {
		r.Queries++
		if a, b := q(live), q(rebuilt); a != b && len(r.Mismatches) < maxReportedMismatches {
			r.Mismatches = append(r.Mismatches, fmt.Sprintf("live %s\nrebuilt %s", a, b))
		}
	}
	if a, b := fmt.Sprint(live.Regions()), fmt.Sprint(rebuilt.Regions()); a != b {
		r.Mismatches = append(r.Mismatches, fmt.Sprintf("root regions: live %s, rebuilt %s", a, b))
	}
	if a, b := fmt.Sprint(live.FundIDs()), fmt.Sprint(rebuilt.FundIDs()); a != b {
		r.Mismatches = append(r.Mismatches, fmt.Sprintf("funds: live %s, rebuilt %s", a, b))
	}
	if len(r.Mismatches) > 0 {
		return r, errViewsDiffer
	}
	return r, nil
}

// upTo reads the log up to position last, showing each event to seen.
type upTo struct {
	log  verifiable
	last eventstore.Position
	seen func(eventstore.Event)
}

var errPastSnapshot = errors.New("past the snapshot")

func (u upTo) Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error {
	err := u.log.Read(ctx, after, func(e eventstore.Event) error {
		if e.Position > u.last {
			return errPastSnapshot
		}
		u.seen(e)
		return fn(e)
	})
	if errors.Is(err, errPastSnapshot) {
		return nil
	}
	return err
}

// logFacts are the years the log names, which the views are queried by.
type logFacts struct {
	years map[int]bool
}

func newLogFacts() *logFacts { return &logFacts{years: map[int]bool{}} }

func (f *logFacts) add(e eventstore.Event) {
	if e.Type == audit.CheckpointEventType {
		return
	}
	if d, err := domain.ParseDate(e.Meta.BusinessDate); err == nil {
		f.years[d.Year()] = true
	}
}

// query asks one view one question and answers its JSON (or its error).
type query func(*projections.Projector) string

func (f *logFacts) queries(roots, funds []string) []query {
	years := []int{0}
	for y := range f.years {
		years = append(years, y)
	}
	slices.Sort(years)
	var qs []query
	for _, region := range roots {
		for _, year := range years {
			if year != 0 {
				qs = append(qs, func(p *projections.Projector) string {
					r, err := p.Progress(region, year, "", "")
					return viewAnswer(fmt.Sprintf("progress %s %d", region, year), r, err)
				})
			}
			qs = append(qs, func(p *projections.Projector) string {
				r, err := p.Portfolio(region, year, "")
				return viewAnswer(fmt.Sprintf("portfolio %s %d", region, year), r, err)
			})
		}
	}
	for _, id := range funds {
		qs = append(qs, func(p *projections.Projector) string {
			r, err := p.Fund(id, "")
			return viewAnswer("fund "+id, r, err)
		})
	}
	return qs
}

// viewAnswer renders a view's answer, or its error, after what was asked.
func viewAnswer(asked string, r any, err error) string {
	if err != nil {
		return fmt.Sprintf("%s: error %v", asked, err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Sprintf("%s: %v", asked, err)
	}
	return fmt.Sprintf("%s: %s", asked, data)
}

// viewsDir is where `ledger serve` keeps the views' snapshot.
func viewsDir(dataDir string) string { return filepath.Join(dataDir, "views") }
