package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hrss-ledger/ledger/domain"
)

// Views answers queries from the projections. Errors wrap ErrNotFound,
// ErrInvalidQuery or ErrViewsBehind so that they map to 404, 400 and 503.
type Views interface {
	Position() uint64
	WaitFor(ctx context.Context, position uint64) error
	Progress(region string, year int, issuer, asOf string) (domain.ProgressReport, error)
	Portfolio(region string, year int, asOf string) (domain.PortfolioReport, error)
	Fund(id, asOf string) (domain.FundReport, error)
	Loan(id, asOf string) (domain.LoanReport, error)
	History(account, from, to string) (domain.HistoryReport, error)
	DrillDown(view, figure, region string, year int, asOf string) (domain.DrillDown, error)
	// RegionTree, FundIDs and Years list what pickers offer.
	RegionTree() []domain.RegionNode
	FundIDs() []string
	Years() []int
	// Subscribe streams view changes until cancel is called.
	Subscribe(views []string, region string) (changes <-chan ViewChange, cancel func())
}

// Errors a Views implementation reports.
var (
	ErrNotFound     = errors.New("api: not found")
	ErrInvalidQuery = errors.New("api: invalid query")
	ErrViewsBehind  = errViewsBehind
)

// queryRoute is one GET endpoint. The mux serves it and the OpenAPI
// document describes it from this one table, so the two cannot disagree.
type queryRoute struct {
	pattern  string
	name     string // operationId
	summary  string
	roles    []Role // nil: served without authentication
	params   []param
	result   any      // a value of the type answered as JSON; nil when there is no JSON answer
	media    []string // other media types answered, e.g. text/csv
	problems []int    // problem statuses besides 401 and 403
	handler  http.HandlerFunc
	// tokenInQuery also accepts the token as ?access_token= (for EventSource).
	tokenInQuery bool
}

func (s *Server) queryRoutes() []queryRoute {
	return append([]queryRoute{
		{pattern: "GET /v1/progress", name: "get_progress", summary: "Target progress of a region and its children",
			roles: readers, params: []param{regionParam, yearParam.require(), issuerParam, asOfParam, minPositionParam},
			result: domain.ProgressReport{}, problems: viewProblems, handler: s.query(s.progress)},
		{pattern: "GET /v1/progress/drilldown", name: "get_drilldown", summary: "The events behind one figure of a view",
			roles: readers, params: []param{viewParam, figureParam, regionParam, yearParam, asOfParam, minPositionParam},
			result: domain.DrillDown{}, problems: viewProblems, handler: s.query(s.drillDown)},
		{pattern: "GET /v1/portfolio", name: "get_portfolio", summary: "Guaranteed-loan portfolio of a region",
			roles: readers, params: []param{regionParam, yearParam, asOfParam, minPositionParam},
			result: domain.PortfolioReport{}, problems: viewProblems, handler: s.query(s.portfolio)},
		{pattern: "GET /v1/funds/{fund_id}", name: "get_fund", summary: "A fund's balance and flows",
			roles: readers, params: []param{asOfParam, minPositionParam},
			result: domain.FundReport{}, problems: viewProblems, handler: s.query(s.fund)},
		{pattern: "GET /v1/loans/{loan_id}", name: "get_loan", summary: "A loan's state",
			roles: readers, params: []param{asOfParam, minPositionParam},
			result: domain.LoanReport{}, problems: viewProblems, handler: s.query(s.loan)},
		{pattern: "GET /v1/history", name: "get_history", summary: "Payment history of one account, oldest first",
			roles: tracers, params: []param{accountParam, fromParam, toParam, minPositionParam},
			result: domain.HistoryReport{}, media: []string{"text/csv"}, problems: viewProblems, handler: s.history},
		{pattern: "GET /v1/events", name: "get_events", summary: "The raw log in order, with envelopes",
			roles: auditors, params: []param{afterParam, limitParam},
			result: eventsPage{}, problems: logProblems, handler: s.events},
		{pattern: "GET /v1/subscribe", name: "subscribe", summary: "Server-Sent Events: each change of the named views as it happens",
			roles: readers, params: []param{viewsParam, optionalRegionParam, accessTokenParam}, tokenInQuery: true,
			media: []string{"text/event-stream"}, problems: []int{http.StatusBadRequest, http.StatusServiceUnavailable}, handler: s.subscribe},
		{pattern: "GET /v1/progress/ranking.xlsx", name: "get_progress_ranking_xlsx",
			summary: "The children of a region ranked per indicator (the 通报), as an Excel workbook with Chinese headers",
			roles:   readers, params: []param{regionParam, yearParam.require(), issuerParam, asOfParam, minPositionParam},
			media: []string{xlsxMedia}, problems: viewProblems, handler: s.rankingXLSX},
		{pattern: "GET /v1/regions", name: "list_regions", summary: "The region tree and the years of the log, for pickers",
			roles: readers, result: regionList{}, problems: logProblems, handler: s.query(s.regionList)},
		{pattern: "GET /v1/funds", name: "list_funds", summary: "Every fund with its balance and flows",
			roles: readers, params: []param{asOfParam, minPositionParam},
			result: fundList{}, problems: viewProblems, handler: s.query(s.fundList)},
		{pattern: "GET /v1/whoami", name: "whoami", summary: "The role and name of the bearer token",
			roles: readers, result: whoAmI{}, handler: s.whoAmI},
		{pattern: "GET /healthz", name: "get_health", summary: "Liveness and the last acknowledged log position",
			result: health{}, handler: s.healthz},
		{pattern: "GET /metrics", name: "get_metrics", summary: "Prometheus metrics",
			media: []string{"text/plain"}, handler: s.metrics.serve},
		{pattern: "GET /openapi.json", name: "get_openapi", summary: "This OpenAPI document",
			result: map[string]any{}, handler: s.serveOpenAPI},
	}, s.auditRoutes()...)
}

// query wraps a JSON query: it first waits until the views reflect every
// command this server acknowledged (read-your-writes), then answers.
func (s *Server) query(answer func(*http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.catchUp(r); err != nil {
			writeProblem(w, r, err)
			return
		}
		v, err := answer(r)
		if err != nil {
			writeProblem(w, r, queryProblem(err))
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// catchUp waits, boundedly, for the views to reach the position of the last
// command acknowledged, or the position the client names in X-Min-Position.
func (s *Server) catchUp(r *http.Request) error {
	target := s.commands.Head()
	if h := r.Header.Get("X-Min-Position"); h != "" {
		p, err := strconv.ParseUint(h, 10, 64)
		if err != nil {
			return badRequest("X-Min-Position", "must be a log position")
		}
		target = max(target, p)
	}
	ctx, cancel := context.WithTimeout(r.Context(), viewWaitTimeout)
	defer cancel()
	if err := s.views.WaitFor(ctx, target); err != nil {
		return errViewsBehind
	}
	return nil
}

func queryProblem(err error) error {
	var p *Problem
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, ErrNotFound):
		return notFound(err.Error())
	case errors.Is(err, ErrInvalidQuery):
		return badRequest("", err.Error())
	}
	return err
}

// params reads and checks the common query parameters.
type params struct {
	r *http.Request
}

func (p params) region() (string, error) {
	region := p.r.URL.Query().Get("region")
	if region == "" {
		return "", badRequest("region", "is required")
	}
	if err := domain.ValidateRegionCode(region); err != nil {
		return "", fieldError("region", err)
	}
	return region, nil
}

// year reads `year`; 0 when absent and not required.
func (p params) year(required bool) (int, error) {
	s := p.r.URL.Query().Get("year")
	if s == "" {
		if required {
			return 0, badRequest("year", "is required")
		}
		return 0, nil
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 1949 || y > 2200 {
		return 0, badRequest("year", "must be a year such as 2017")
	}
	return y, nil
}

// date reads an optional date parameter, returned as YYYY-MM-DD or "".
func (p params) date(name string) (string, error) {
	s := p.r.URL.Query().Get(name)
	if s == "" {
		return "", nil
	}
	d, err := domain.ParseDate(s)
	if err != nil {
		return "", fieldError(name, err)
	}
	return d.String(), nil
}

func (s *Server) progress(r *http.Request) (any, error) {
	p := params{r}
	region, err := p.region()
	year, yerr := p.year(true)
	asOf, aerr := p.date("as_of")
	if err := firstErr(err, yerr, aerr); err != nil {
		return nil, err
	}
	issuer := r.URL.Query().Get("issuer")
	switch issuer {
	case "", "province", "city", "county":
	default:
		return nil, badRequest("issuer", "is province, city or county")
	}
	return s.views.Progress(region, year, issuer, asOf)
}

func (s *Server) drillDown(r *http.Request) (any, error) {
	p := params{r}
	region, err := p.region()
	year, yerr := p.year(false)
	asOf, aerr := p.date("as_of")
	if err := firstErr(err, yerr, aerr); err != nil {
		return nil, err
	}
	q := r.URL.Query()
	view, figure := q.Get("view"), q.Get("figure")
	if view != "progress" && view != "portfolio" {
		return nil, badRequest("view", "is progress or portfolio")
	}
	if figure == "" {
		return nil, badRequest("figure", "is required (an indicator, or a portfolio field)")
	}
	return s.views.DrillDown(view, figure, region, year, asOf)
}

func (s *Server) portfolio(r *http.Request) (any, error) {
	p := params{r}
	region, err := p.region()
	year, yerr := p.year(false)
	asOf, aerr := p.date("as_of")
	if err := firstErr(err, yerr, aerr); err != nil {
		return nil, err
	}
	return s.views.Portfolio(region, year, asOf)
}

func (s *Server) fund(r *http.Request) (any, error) {
	asOf, err := params{r}.date("as_of")
	if err != nil {
		return nil, err
	}
	return s.views.Fund(r.PathValue("fund_id"), asOf)
}

func (s *Server) loan(r *http.Request) (any, error) {
	asOf, err := params{r}.date("as_of")
	if err != nil {
		return nil, err
	}
	return s.views.Loan(r.PathValue("loan_id"), asOf)
}

// history answers JSON, or CSV for `Accept: text/csv`.
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	if err := s.catchUp(r); err != nil {
		writeProblem(w, r, err)
		return
	}
	report, err := s.historyReport(r)
	if err != nil {
		writeProblem(w, r, queryProblem(err))
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "text/csv") {
		writeHistoryCSV(w, report)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

func (s *Server) historyReport(r *http.Request) (domain.HistoryReport, error) {
	p := params{r}
	account := r.URL.Query().Get("account")
	kind, id, ok := strings.Cut(account, ":")
	if !ok || id == "" || (kind != "fund" && kind != "beneficiary" && kind != "loan" && kind != "bank") {
		return domain.HistoryReport{}, badRequest("account", "is fund:ID, beneficiary:ID, loan:ID or bank:NAME")
	}
	from, ferr := p.date("from")
	to, terr := p.date("to")
	if err := firstErr(ferr, terr); err != nil {
		return domain.HistoryReport{}, err
	}
	if from != "" && to != "" && to < from {
		return domain.HistoryReport{}, badRequest("to", "is before from")
	}
	if err := checkSpan(from, to); err != nil {
		return domain.HistoryReport{}, err
	}
	return s.views.History(account, from, to)
}
