package projections

import (
	"fmt"
	"sort"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
)

// maxDrillDownEvents bounds the events one drill-down lists; the rest is
// announced by Truncated.
const maxDrillDownEvents = 10000

// DrillQuery names one figure of a view: View "progress" with Figure an
// indicator, or View "portfolio" with Figure a PortfolioReport field.
type DrillQuery struct {
	View   string
	Figure string
	Region string
	Year   int    // required for progress; 0 means all years for portfolio
	AsOf   string // "" means everything
	Limit  int    // 0 means maxDrillDownEvents
}

// drillItem is one event behind a figure before formatting.
type drillItem struct {
	pos    uint64
	amount string
}

// DrillDown lists the events behind a figure, in log order.
func (s *state) DrillDown(q DrillQuery) (domain.DrillDown, error) {
	d, err := s.asOf(q.AsOf)
	if err != nil {
		return domain.DrillDown{}, err
	}
	n, err := s.regionOf(q.Region)
	if err != nil {
		return domain.DrillDown{}, err
	}
	var items []drillItem
	switch q.View {
	case viewProgress:
		items, err = s.drillProgress(n, q.Figure, q.Year, d)
	case viewPortfolio:
		items, err = s.drillPortfolio(n, q.Figure, q.Year, d)
	default:
		err = fmt.Errorf("%w: no drill-down for view %q", ErrInvalidQuery, q.View)
	}
	if err != nil {
		return domain.DrillDown{}, err
	}
	sort.Slice(items, func(i, j int) bool { return items[i].pos < items[j].pos })
	return s.drillReport(q, d, items), nil
}

func (s *state) drillReport(q DrillQuery, d day, items []drillItem) domain.DrillDown {
	limit := q.Limit
	if limit <= 0 || limit > maxDrillDownEvents {
		limit = maxDrillDownEvents
	}
	rep := domain.DrillDown{View: q.View, Figure: q.Figure, Region: q.Region, AsOf: d.String(), Position: s.Pos,
		Value: drillValue(items), Events: []domain.DrillDownItem{}}
	if q.Year != 0 {
		year := q.Year
		rep.Year = &year
	}
	if len(items) > limit {
		items, rep.Truncated = items[:limit], true
	}
	for _, it := range items {
		info := s.info(it.pos)
		rep.Events = append(rep.Events, domain.DrillDownItem{Position: it.pos, EventID: info.ID.String(),
			Date: info.Day.String(), Type: s.TypeNames[info.Type], Amount: it.amount})
	}
	return rep
}

// drillValue is the figure the listed events add up to.
func drillValue(items []drillItem) string {
	sum, money := decimal.Zero, false
	for _, it := range items {
		sum = sum.Add(decimal.RequireFromString(it.amount))
		money = money || strings.Contains(it.amount, ".")
	}
	if money {
		return sum.StringFixed(2)
	}
	return sum.String()
}

func (s *state) drillProgress(n int32, figure string, year int, d day) ([]drillItem, error) {
	i, ok := indicatorIdx[domain.Indicator(figure)]
	if !ok {
		return nil, fmt.Errorf("%w: unknown indicator %q", ErrInvalidQuery, figure)
	}
	switch domain.Indicator(figure) {
	case domain.LoansIssuedCount, domain.LoansIssuedAmount, domain.LoansPoorVillagesCount, domain.LoansPoorVillagesAmount:
		return s.drillLoansIssued(n, domain.Indicator(figure), year, d), nil
	case domain.SubsidiesPaidAmount:
		var out []drillItem
		for c := range s.Subsidies.all {
			if c.Day <= d && c.Day.year() == year && s.under(c.Node, n) {
				out = append(out, drillItem{c.Pos, formatFen(c.Amount)})
			}
		}
		return out, nil
	case domain.RegisteredUnemploymentRate:
		if ry := s.Years[nodeYear{n, int32(year)}]; ry != nil {
			for k := len(ry.Stats[i]) - 1; k >= 0; k-- {
				if v := ry.Stats[i][k]; v.Day <= d {
					return []drillItem{{v.Pos, plainDecimal(v.Value)}}, nil
				}
			}
		}
		return nil, nil
	}
	return s.drillPersons(n, i, year, d), nil
}

// drillPersons lists, for each person counted, the earliest placement that
// makes them count under region n as of d.
func (s *state) drillPersons(n int32, ind uint8, year int, d day) []drillItem {
	var out []drillItem
	for p := range s.Persons {
		cs := s.Persons[p].key(int32(year), ind)
		best := -1
		for k, c := range cs {
			if c.From <= d && d < c.To && s.under(c.Node, n) && (best < 0 || c.Pos < cs[best].Pos) {
				best = k
			}
		}
		if best >= 0 {
			out = append(out, drillItem{cs[best].Pos, "1"})
		}
	}
	return out
}

func (s *state) drillLoansIssued(n int32, ind domain.Indicator, year int, d day) []drillItem {
	poorOnly := ind == domain.LoansPoorVillagesCount || ind == domain.LoansPoorVillagesAmount
	amount := ind == domain.LoansIssuedAmount || ind == domain.LoansPoorVillagesAmount
	var out []drillItem
	for _, l := range s.loanList { // whole, where Loans may lag (index.go)
		if l.Node < 0 || l.IssueDay > d || l.IssueDay.year() != year || (poorOnly && !l.Poor) || !s.under(l.Node, n) {
			continue
		}
		item := drillItem{l.IssuePos, "1"}
		if amount {
			item.amount = formatFen(l.Events[0].Amount)
		}
		out = append(out, item)
	}
	return out
}

// portfolioFigures maps a PortfolioReport field to the loan event kind and
// the column behind it.
var portfolioFigures = map[string]struct {
	kinds []uint8
	col   int
	stock bool
}{
	"issued_count":          {[]uint8{loanIssued}, pfIssuedCount, false},
	"issued_amount":         {[]uint8{loanIssued}, pfIssuedAmount, false},
	"jobs_created":          {[]uint8{loanIssued}, pfJobs, false},
	"outstanding_principal": {[]uint8{loanIssued, loanRepaid, loanRecovered, loanWrittenOff}, pfOutstanding, true},
	"repaid_principal":      {[]uint8{loanRepaid}, pfRepaid, false},
	"defaulted_count":       {[]uint8{loanDefaulted}, pfDefaultedCount, false},
	"compensated_amount":    {[]uint8{loanCompensated}, pfCompensated, false},
	"recovered_amount":      {[]uint8{loanRecovered}, pfRecovered, false},
	"written_off_amount":    {[]uint8{loanWrittenOff}, pfWrittenOff, false},
}

func (s *state) drillPortfolio(n int32, figure string, year int, d day) ([]drillItem, error) {
	f, ok := portfolioFigures[figure]
	if !ok {
		return nil, fmt.Errorf("%w: unknown portfolio figure %q", ErrInvalidQuery, figure)
	}
	from, to := window(year, d)
	if f.stock {
		from = minDay
	}
	var out []drillItem
	for _, l := range s.loanList { // whole, where Loans may lag (index.go)
		if l.Node < 0 || !s.under(l.Node, n) {
			continue
		}
		for _, le := range l.Events {
			var row [portfolioWidth]int64
			if le.Day < from || le.Day > to || !portfolioRow(le, &row) || row[f.col] == 0 {
				continue
			}
			amount := formatFen(row[f.col])
			if f.col == pfIssuedCount || f.col == pfDefaultedCount || f.col == pfJobs {
				amount = fmt.Sprint(row[f.col])
			}
			out = append(out, drillItem{le.Pos, amount})
		}
	}
	return out, nil
}
