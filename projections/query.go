package projections

import (
	"errors"
	"fmt"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
)

// Errors of the queries; callers test with errors.Is.
var (
	// ErrNotFound: the region, fund, loan or account is not in the views
	// (as of the date asked).
	ErrNotFound = errors.New("projections: not found")
	// ErrInvalidQuery: a malformed query (bad date, unknown figure).
	ErrInvalidQuery = errors.New("projections: invalid query")
)

// asOf resolves an as_of parameter: "" means everything, dated as the
// latest business date in the log.
func (s *state) asOf(param string) (day, error) {
	if param == "" {
		return s.LastDay, nil
	}
	d, err := parseDay(param)
	if err != nil {
		return 0, fmt.Errorf("%w: as_of: %w", ErrInvalidQuery, err)
	}
	return d, nil
}

func (s *state) regionOf(code string) (int32, error) {
	n, ok := s.RegionIdx[code]
	if !ok {
		return 0, fmt.Errorf("%w: region %q", ErrNotFound, code)
	}
	return n, nil
}

// Kinds of indicator figures, which decide how they are formatted.
const (
	kindCount = iota
	kindMoney
	kindStatistic
)

func indicatorKind(i int) int {
	switch domain.Indicators[i] {
	case domain.LoansIssuedAmount, domain.LoansPoorVillagesAmount, domain.SubsidiesPaidAmount:
		return kindMoney
	case domain.RegisteredUnemploymentRate:
		return kindStatistic
	}
	return kindCount
}

// formatFigure formats a target or an actual of an indicator: money with 2
// decimal places, a reported rate with at least 2 (the log's JSON does not
// keep trailing zeros, so 3.20 is shown as reported only this way), counts plain.
func formatFigure(kind int, v decimal.Decimal) string {
	switch kind {
	case kindMoney:
		return v.StringFixed(2)
	case kindStatistic:
		return v.StringFixed(max(2, -v.Exponent()))
	}
	return plainDecimal(v)
}

// progress computes one region's indicators for a year as of day d.
func (s *state) progress(n int32, year int, d day, issuer string) []domain.IndicatorProgress {
	out := []domain.IndicatorProgress{}
	ry := s.Years[nodeYear{Node: n, Year: int32(year)}]
	if ry == nil {
		return out
	}
	for i := range numIndicators {
		out = append(out, s.indicator(ry, i, year, d, issuer)...)
	}
	return out
}

// indicator returns the entries of one indicator: one per issuer with a
// target, or one without a target when only events exist.
func (s *state) indicator(ry *regionYear, i, year int, d day, issuer string) []domain.IndicatorProgress {
	kind := indicatorKind(i)
	actual, reported := s.actual(ry, i, kind, d)
	var out []domain.IndicatorProgress
	for is, name := range domain.Issuers {
		if issuer != "" && string(name) != issuer {
			continue
		}
		t, ok := latestTarget(ry.Targets[i], uint8(is), d)
		if !ok {
			continue
		}
		out = append(out, targetEntry(i, kind, string(name), t, actual, reported, year, d))
	}
	if len(out) > 0 || !reported {
		return out
	}
	direction := domain.Floor
	if kind == kindStatistic {
		direction = domain.Ceiling
	}
	return []domain.IndicatorProgress{{Indicator: string(domain.Indicators[i]),
		Actual: formatFigure(kind, actual), Direction: string(direction)}}
}

// actual is an indicator's figure as of d; reported is false when nothing
// stands behind it (no event, no statistic).
func (s *state) actual(ry *regionYear, i, kind int, d day) (decimal.Decimal, bool) {
	if kind == kindStatistic || len(ry.Stats[i]) > 0 {
		for k := len(ry.Stats[i]) - 1; k >= 0; k-- {
			if v := ry.Stats[i][k]; v.Day <= d {
				return v.Value, true
			}
		}
		return decimal.Zero, false
	}
	a := &ry.Actual[i]
	v := a.at1(d)
	if kind == kindMoney {
		return fenDecimal(v), a.since(d)
	}
	return decimal.NewFromInt(v), a.since(d)
}

// latestTarget is the issuer's target as a replay up to d would leave it:
// the last version in log order dated up to d.
func latestTarget(versions []targetVersion, issuer uint8, d day) (targetVersion, bool) {
	for k := len(versions) - 1; k >= 0; k-- {
		if v := versions[k]; v.Issuer == issuer && v.Day <= d {
			return v, true
		}
	}
	return targetVersion{}, false
}

func targetEntry(i, kind int, issuer string, t targetVersion, actual decimal.Decimal, reported bool, year int, d day) domain.IndicatorProgress {
	target := formatFigure(kind, t.Value)
	e := domain.IndicatorProgress{Indicator: string(domain.Indicators[i]), Issuer: &issuer, Target: &target,
		Actual: formatFigure(kind, actual), Direction: string(domain.Floor)}
	var onTrack bool
	if t.Ceiling {
		e.Direction = string(domain.Ceiling)
		if !reported {
			return e
		}
		e.Percent = percent(t.Value, actual)
		onTrack = !actual.GreaterThan(t.Value)
	} else {
		e.Percent = percent(actual, t.Value)
		elapsed, length := yearElapsed(year, d)
		onTrack = !actual.Mul(decimal.NewFromInt(length)).LessThan(t.Value.Mul(decimal.NewFromInt(elapsed)))
	}
	e.OnTrack = &onTrack
	return e
}

// yearElapsed returns the days of year gone by as of d and the year's
// length: the whole year for a past year, nothing for a future one.
func yearElapsed(year int, d day) (elapsed, length int64) {
	start, end := yearStart(year), yearEnd(year)
	length = int64(end - start + 1)
	switch {
	case d >= end:
		return length, length
	case d < start:
		return 0, length
	}
	return int64(d - start + 1), length
}

// Progress answers GET /v1/progress: a region's indicators for a year with
// its children's, ranked among siblings.
func (s *state) Progress(regionCode string, year int, issuer, asOf string) (domain.ProgressReport, error) {
	d, err := s.asOf(asOf)
	if err != nil {
		return domain.ProgressReport{}, err
	}
	n, err := s.regionOf(regionCode)
	if err != nil {
		return domain.ProgressReport{}, err
	}
	r := &s.Regions[n]
	rep := domain.ProgressReport{Region: r.Code, Name: r.Name, Year: year, AsOf: d.String(), Position: s.Pos,
		Indicators: s.progress(n, year, d, issuer), Children: []domain.RegionProgress{}}
	for _, c := range r.Children {
		child := &s.Regions[c]
		rep.Children = append(rep.Children, domain.RegionProgress{Region: child.Code, Name: child.Name,
			Indicators: s.progress(c, year, d, issuer)})
	}
	rank(rep.Children)
	return rep, nil
}

// rank places sibling regions per indicator and issuer: by percent of
// target, or by the figure itself where there is no target (lower is better
// for a ceiling). Equal scores share a place.
func rank(children []domain.RegionProgress) {
	type scored struct {
		e     *domain.IndicatorProgress
		score decimal.Decimal
	}
	groups := map[string][]scored{}
	var keys []string
	for c := range children {
		for k := range children[c].Indicators {
			e := &children[c].Indicators[k]
			key := e.Indicator + "/"
			if e.Issuer != nil {
				key += *e.Issuer
			}
			if _, ok := groups[key]; !ok {
				keys = append(keys, key)
			}
			groups[key] = append(groups[key], scored{e, score(e)})
		}
	}
	for _, key := range keys {
		g := groups[key]
		sort.SliceStable(g, func(i, j int) bool { return g[i].score.GreaterThan(g[j].score) })
		for i := range g {
			if i > 0 && g[i].score.Equal(g[i-1].score) {
				g[i].e.Rank = g[i-1].e.Rank
			} else {
				g[i].e.Rank = i + 1
			}
		}
	}
}

func score(e *domain.IndicatorProgress) decimal.Decimal {
	if e.Percent != nil {
		return decimal.RequireFromString(*e.Percent)
	}
	v := decimal.RequireFromString(e.Actual)
	if e.Direction == string(domain.Ceiling) {
		return v.Neg()
	}
	return v
}

// Portfolio answers GET /v1/portfolio: flows dated in the year (all years
// when year is 0) up to as_of, and the outstanding principal at the end.
func (s *state) Portfolio(regionCode string, year int, asOf string) (domain.PortfolioReport, error) {
	d, err := s.asOf(asOf)
	if err != nil {
		return domain.PortfolioReport{}, err
	}
	n, err := s.regionOf(regionCode)
	if err != nil {
		return domain.PortfolioReport{}, err
	}
	from, to := window(year, d)
	var flows, stock [portfolioWidth]int64
	p := &s.Regions[n].Portfolio
	p.between(portfolioWidth, from, to, flows[:])
	p.at(portfolioWidth, to, stock[:])
	rep := domain.PortfolioReport{Region: regionCode, AsOf: d.String(), Position: s.Pos,
		IssuedCount: flows[pfIssuedCount], IssuedAmount: formatFen(flows[pfIssuedAmount]),
		OutstandingPrincipal: formatFen(stock[pfOutstanding]), RepaidPrincipal: formatFen(flows[pfRepaid]),
		DefaultedCount: flows[pfDefaultedCount], CompensatedAmount: formatFen(flows[pfCompensated]),
		RecoveredAmount: formatFen(flows[pfRecovered]), WrittenOffAmount: formatFen(flows[pfWrittenOff]),
		JobsCreated:   flows[pfJobs],
		RepaymentRate: percent(fenDecimal(flows[pfRepaid]), fenDecimal(flows[pfRepaid]+flows[pfCompensated])),
		RecoveryRate:  percent(fenDecimal(flows[pfRecovered]), fenDecimal(flows[pfCompensated])),
	}
	if year != 0 {
		rep.Year = &year
	}
	return rep, nil
}

// window bounds the flows of a year (or of all years) as of d.
func window(year int, d day) (from, to day) {
	if year == 0 {
		return minDay + 1, d
	}
	return yearStart(year), min(yearEnd(year), d)
}

// Fund answers GET /v1/funds/{fund_id}.
func (s *state) Fund(id, asOf string) (domain.FundReport, error) {
	d, err := s.asOf(asOf)
	if err != nil {
		return domain.FundReport{}, err
	}
	f, ok := s.Funds[id]
	if !ok {
		return domain.FundReport{}, fmt.Errorf("%w: fund %q", ErrNotFound, id)
	}
	var flows [fundWidth]int64
	f.Flows.at(fundWidth, d, flows[:])
	return domain.FundReport{FundID: f.ID, Name: f.Name, Kind: f.Kind, RegionCode: f.Region,
		AsOf: d.String(), Position: s.Pos,
		Balance:   formatFen(flows[fundAllocated] + flows[fundReceived] - flows[fundPaidOut]),
		Allocated: formatFen(flows[fundAllocated]), PaidOut: formatFen(flows[fundPaidOut]),
		Received: formatFen(flows[fundReceived])}, nil
}

// Loan answers GET /v1/loans/{loan_id}: the loan's events dated up to
// as_of folded in log order.
func (s *state) Loan(id, asOf string) (domain.LoanReport, error) {
	d, err := s.asOf(asOf)
	if err != nil {
		return domain.LoanReport{}, err
	}
	s.completeIndexes() // a misnumbered state is thrown away by its catch-up
	l, ok := s.Loans[id]
	if !ok || l.Node < 0 || l.IssueDay > d {
		return domain.LoanReport{}, fmt.Errorf("%w: loan %q", ErrNotFound, id)
	}
	var principal, repaid, interest, subsidized, compensated, recovered, writtenOff, jobs int64
	status := "active"
	for _, le := range l.Events {
		if le.Day > d {
			continue
		}
		switch le.Kind {
		case loanIssued:
			principal, jobs = le.Amount, le.Extra
		case loanRepaid:
			repaid += le.Amount
			interest += le.Extra
		case loanInterestSubsidy:
			subsidized += le.Amount
		case loanDefaulted:
			status = "defaulted"
		case loanCompensated:
			compensated += le.Amount
		case loanRecovered:
			recovered += le.Amount
		case loanWrittenOff:
			writtenOff += le.Amount
			status = "written_off"
		case loanClosed:
			status = "closed"
		}
	}
	return domain.LoanReport{LoanID: l.ID, Status: status, BorrowerID: l.Borrower, Bank: l.Bank,
		RegionCode: s.Regions[l.Node].Code, IssueDate: l.IssueDay.String(), AsOf: d.String(), Position: s.Pos,
		Principal: formatFen(principal), OutstandingPrincipal: formatFen(principal - repaid - recovered - writtenOff),
		RepaidPrincipal: formatFen(repaid), InterestPaid: formatFen(interest), InterestSubsidized: formatFen(subsidized),
		Compensated: formatFen(compensated), Recovered: formatFen(recovered), WrittenOff: formatFen(writtenOff),
		JobsCreated: jobs}, nil
}

// info returns the envelope facts of the event at pos.
func (s *state) info(pos uint64) eventInfo {
	i := int(pos) - 1
	assert(i >= 0 && i < s.Events.N, "a view names an event it never saw")
	return *s.Events.at(i)
}

// History answers GET /v1/history: an account's entries dated in [from, to]
// (either may be empty), oldest first, with the running balance.
func (s *state) History(name, from, to string) (domain.HistoryReport, error) {
	s.completeIndexes() // a misnumbered state is thrown away by its catch-up
	n, ok := s.AccountIdx[name]
	a := s.Accounts.at(int(n))
	if !ok {
		return domain.HistoryReport{}, fmt.Errorf("%w: account %q", ErrNotFound, name)
	}
	lo, hi := minDay, maxDay
	var err error
	if from != "" {
		if lo, err = parseDay(from); err != nil {
			return domain.HistoryReport{}, fmt.Errorf("%w: from: %w", ErrInvalidQuery, err)
		}
	}
	if to != "" {
		if hi, err = parseDay(to); err != nil {
			return domain.HistoryReport{}, fmt.Errorf("%w: to: %w", ErrInvalidQuery, err)
		}
	}
	rep := domain.HistoryReport{Account: name, Balance: formatFen(a.Balance), Position: s.Pos, Entries: []domain.HistoryEntry{}}
	balance := int64(0)
	for pos, e := range a.Entries.all {
		balance += e.Amount
		info := s.info(pos)
		if info.Day < lo || info.Day > hi {
			continue
		}
		rep.Entries = append(rep.Entries, domain.HistoryEntry{Position: pos, EventID: info.ID.String(),
			Date: info.Day.String(), Type: s.TypeNames[info.Type], Amount: formatFen(e.Amount),
			Counterparty: *s.AccountNames.at(int(e.Counter)), Document: s.Docs[info.Doc], BalanceAfter: formatFen(balance)})
	}
	return rep, nil
}
