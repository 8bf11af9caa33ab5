package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hrss-ledger/ledger/api"
	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore/writer"
	"github.com/hrss-ledger/ledger/projections"
)

// commandBus lets the API hand commands to the writer.
type commandBus struct{ w *writer.Writer }

func (b commandBus) Execute(ctx context.Context, req api.CommandRequest) (api.Receipt, error) {
	out, err := b.w.Execute(ctx, writer.Request{
		Command: req.Command, CommandID: req.CommandID, Fingerprint: req.Fingerprint,
		Actor: req.Actor, CorrelationID: req.CorrelationID,
	})
	if err != nil {
		return api.Receipt{}, err
	}
	return api.Receipt{Events: out.Events, First: out.First, Last: out.Last, Duplicate: out.Duplicate}, nil
}

func (b commandBus) Head() uint64 { return b.w.Head() }

// viewsAdapter lets the API query the projections, translating their errors
// into the API's.
type viewsAdapter struct{ p *projections.Projector }

func (v viewsAdapter) Position() uint64 { return v.p.Position() }

func (v viewsAdapter) WaitFor(ctx context.Context, pos uint64) error {
	return viewError(v.p.WaitFor(ctx, pos))
}

func (v viewsAdapter) Progress(region string, year int, issuer, asOf string) (domain.ProgressReport, error) {
	r, err := v.p.Progress(region, year, issuer, asOf)
	return r, viewError(err)
}

func (v viewsAdapter) Portfolio(region string, year int, asOf string) (domain.PortfolioReport, error) {
	r, err := v.p.Portfolio(region, year, asOf)
	return r, viewError(err)
}

func (v viewsAdapter) Fund(id, asOf string) (domain.FundReport, error) {
	r, err := v.p.Fund(id, asOf)
	return r, viewError(err)
}

func (v viewsAdapter) Loan(id, asOf string) (domain.LoanReport, error) {
	r, err := v.p.Loan(id, asOf)
	return r, viewError(err)
}

func (v viewsAdapter) History(account, from, to string) (domain.HistoryReport, error) {
	r, err := v.p.History(account, from, to)
	return r, viewError(err)
}

func (v viewsAdapter) DrillDown(view, figure, region string, year int, asOf string) (domain.DrillDown, error) {
	r, err := v.p.DrillDown(projections.DrillQuery{View: view, Figure: figure, Region: region, Year: year, AsOf: asOf})
	return r, viewError(err)
}

func viewError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, projections.ErrNotFound):
		return fmt.Errorf("%w: %v", api.ErrNotFound, err)
	case errors.Is(err, projections.ErrInvalidQuery):
		return fmt.Errorf("%w: %v", api.ErrInvalidQuery, err)
	case errors.Is(err, projections.ErrWaitTimeout):
		return fmt.Errorf("%w: %v", api.ErrViewsBehind, err)
	}
	return err
}

// Subscribe relays the projections' changes to an SSE connection.
func (v viewsAdapter) Subscribe(views []string, region string) (<-chan api.ViewChange, func()) {
	changes, cancel := v.p.Subscribe(views, region)
	out := make(chan api.ViewChange, cap(changes))
	done := make(chan struct{})
	go func() {
		defer close(out)
		for c := range changes {
			select {
			case out <- api.ViewChange{View: c.View, Key: c.Key, Region: c.Region, Year: c.Year, Position: c.Position, Data: c.Data}:
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return out, func() { once.Do(func() { close(done); cancel() }) }
}

func (v viewsAdapter) RegionTree() []domain.RegionNode { return v.p.RegionTree() }

func (v viewsAdapter) FundIDs() []string { return v.p.FundIDs() }

func (v viewsAdapter) Years() []int { return v.p.Years() }
