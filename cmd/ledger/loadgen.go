package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits of the load generator: it is a test tool, bounded in every way.
const (
	maxLoadgenClients   = 1024
	maxLoadgenDuration  = 24 * time.Hour
	maxLoadgenOps       = 100_000_000
	loadgenHTTPTimeout  = 30 * time.Second // one request
	loadgenMaxRetries   = 60               // retries of one command on 503 or a lost connection
	loadgenMaxRetryWait = time.Second      // longest pause between two retries
	loadgenPersons      = 64               // people the placements and subsidies spread over
	loadgenEventsPage   = 1000             // page size when reading the log back
	loadgenMaxBodyBytes = 1 << 20          // an answer larger than this is an error
)

// loadgenConfig is what `ledger loadgen` runs with.
type loadgenConfig struct {
	URLs       []string // servers; client i sends its commands to URLs[i%len]
	Token      string   // officer token: commands and queries
	AuditToken string   // auditor token: reads the log back at the end
	Clients    int
	Rate       float64       // operations per second over all clients; 0: as fast as answered
	Duration   time.Duration // the run stops after it...
	Count      int64         // ...or after this many operations
}

func runLoadgen(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("loadgen")
	var cfg loadgenConfig
	var urls string
	fs.StringVar(&urls, "url", "http://127.0.0.1:8080", "server URL(s), comma-separated; loopback only")
	fs.StringVar(&cfg.Token, "token", envOr("LEDGER_TOKEN", ""), "officer bearer token")
	fs.StringVar(&cfg.AuditToken, "audit-token", envOr("LEDGER_AUDIT_TOKEN", ""), "auditor bearer token, to check the log at the end")
	fs.IntVar(&cfg.Clients, "clients", 16, "concurrent clients")
	fs.Float64Var(&cfg.Rate, "rate", 0, "target operations per second over all clients (0: as fast as answered)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "stop after this long")
	fs.Int64Var(&cfg.Count, "count", 1_000_000, "stop after this many operations")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg.URLs = strings.Split(urls, ",")
	if err := cfg.check(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	g, err := newLoadgen(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "loadgen run %s: %d clients, rate %s, at most %v and %d operations, against %s\n",
		g.run, cfg.Clients, rateText(cfg.Rate), cfg.Duration, cfg.Count, strings.Join(cfg.URLs, ","))
	started := time.Now()
	if err := g.setup(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "setup: %d commands in %v\n", g.ackedCount(), time.Since(started).Round(time.Millisecond))
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	elapsed := g.drive(runCtx)
	cancel()
	g.report(stdout, elapsed)
	v, err := g.verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, v)
	return v.err()
}

func rateText(rate float64) string {
	if rate <= 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%g/s", rate)
}

// check refuses a configuration that is unbounded or points off this machine.
func (c *loadgenConfig) check() error {
	switch {
	case c.Token == "":
		return errors.New("--token is required")
	case c.AuditToken == "":
		return errors.New("--audit-token is required (the log is checked at the end)")
	case c.Clients < 1 || c.Clients > maxLoadgenClients:
		return fmt.Errorf("--clients must be 1..%d", maxLoadgenClients)
	case c.Duration <= 0 || c.Duration > maxLoadgenDuration:
		return fmt.Errorf("--duration must be positive and at most %v", maxLoadgenDuration)
	case c.Count < 1 || c.Count > maxLoadgenOps:
		return fmt.Errorf("--count must be 1..%d", maxLoadgenOps)
	case c.Rate < 0:
		return errors.New("--rate must not be negative")
	}
	for i, u := range c.URLs {
		c.URLs[i] = strings.TrimRight(strings.TrimSpace(u), "/")
		if err := loopbackOnly(c.URLs[i]); err != nil {
			return err
		}
	}
	return nil
}

// loopbackOnly refuses a URL that does not name this machine: a load
// generator must never be pointed at someone else's server by a typo.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q is not an http(s) URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--url %q is not a loopback address (127.0.0.0/8, ::1, localhost): refused", raw)
}

// opKind is one kind of operation of the mix.
type opKind int

const (
	opPlacement opKind = iota
	opSubsidy
	opRepayment
	opInterest
	opLoan
	opQuery
	opKinds
)

var opNames = [opKinds]string{"placement", "subsidy", "repayment", "interest", "loan", "query"}

// opWeights is the mix, in percent: mostly placements and subsidies (the
// bulk of a bureau's daily work), loan events, and a share of dashboard reads.
var opWeights = [opKinds]int{35, 25, 15, 5, 5, 15}

// receipt is what the loadgen keeps of an acknowledged command.
type receipt struct{ first, last uint64 }

// loadgen drives the public HTTP API and remembers every acknowledged command.
type loadgen struct {
	cfg    loadgenConfig
	client *http.Client
	run    string // unique per run: prefixes every id and Idempotency-Key
	seed   uint64 // of this run's people

	root, county      string // region codes
	fund, guarantee   string // fund ids
	program           string
	persons           []string
	startHead         uint64 // the log head before setup: verify reads from there
	next              atomic.Int64
	started           time.Time
	mu                sync.Mutex
	acked             map[string]receipt // Idempotency-Key -> positions
	latencies         [opKinds][]time.Duration
	failures          map[string]int // "kind status" -> count
	retries, failedTx atomic.Int64
}

func newLoadgen(cfg loadgenConfig) (*loadgen, error) {
	var raw [8]byte
	if _, err := crand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("loadgen: run id: %w", err)
	}
	run := hex.EncodeToString(raw[:4])
	digits := binary.BigEndian.Uint64(raw[:])
	transport := &http.Transport{MaxIdleConnsPerHost: cfg.Clients, MaxConnsPerHost: cfg.Clients * 2}
	return &loadgen{
		cfg: cfg, run: run, seed: digits,
		client: &http.Client{Transport: transport, Timeout: loadgenHTTPTimeout},
		// 12-digit (village-level) codes that no real region uses, per run.
		root:      fmt.Sprintf("99%010d", digits%1e10),
		county:    fmt.Sprintf("98%010d", digits%1e10),
		fund:      "LG-" + run + "-EMP",
		guarantee: "LG-" + run + "-GUAR",
		program:   "LG-" + run + "-JOBSEARCH",
		acked:     map[string]receipt{},
		failures:  map[string]int{},
	}, nil
}

// loadgenError is a command the server answered with a refusal.
type loadgenError struct {
	status int
	body   string
}

func (e *loadgenError) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.body) }

// send makes one HTTP request and returns the status and body.
func (g *loadgen) send(ctx context.Context, method, target, token string, body []byte, header ...string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, loadgenMaxBodyBytes))
	return resp.StatusCode, out, err
}

// command posts a command under an Idempotency-Key, retrying with the same
// key on 503 or a lost connection (the server answers a retry of an applied
// command with the original result), and records the acknowledgement.
func (g *loadgen) command(ctx context.Context, base, path, key string, body any) (map[string]any, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	wait := 20 * time.Millisecond
	for attempt := 0; ; attempt++ {
		status, out, err := g.send(ctx, http.MethodPost, base+path, g.cfg.Token, data, "Idempotency-Key", key)
		if err == nil && (status == http.StatusOK || status == http.StatusCreated) {
			return g.acknowledge(key, out)
		}
		if err == nil && status != http.StatusServiceUnavailable {
			return nil, &loadgenError{status: status, body: string(out)}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if attempt >= loadgenMaxRetries {
			g.failedTx.Add(1)
			return nil, fmt.Errorf("loadgen: %s %s: gave up after %d attempts: %v (status %d)", path, key, attempt+1, err, status)
		}
		g.retries.Add(1)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, loadgenMaxRetryWait)
	}
}

func (g *loadgen) acknowledge(key string, out []byte) (map[string]any, error) {
	var answer map[string]any
	if err := json.Unmarshal(out, &answer); err != nil {
		return nil, fmt.Errorf("loadgen: answer to %s: %w", key, err)
	}
	first, _ := answer["first_position"].(float64)
	last, _ := answer["position"].(float64)
	if first < 1 || last < first {
		return nil, fmt.Errorf("loadgen: answer to %s has no positions: %s", key, out)
	}
	g.mu.Lock()
	g.acked[key] = receipt{first: uint64(first), last: uint64(last)}
	g.mu.Unlock()
	return answer, nil
}

func (g *loadgen) ackedCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.acked)
}

// head asks the first server for its log head.
func (g *loadgen) head(ctx context.Context) (uint64, error) {
	status, out, err := g.send(ctx, http.MethodGet, g.cfg.URLs[0]+"/healthz", g.cfg.Token, nil)
	if err != nil || status != http.StatusOK {
		return 0, fmt.Errorf("loadgen: %s/healthz: status %d: %v", g.cfg.URLs[0], status, err)
	}
	var h struct {
		Position uint64 `json:"position"`
	}
	if err := json.Unmarshal(out, &h); err != nil {
		return 0, fmt.Errorf("loadgen: healthz: %w", err)
	}
	return h.Position, nil
}

// setup records what the mix needs, under this run's own ids: two regions,
// an employment fund with money, a guarantee fund, a program open to anyone,
// people, and one loan per client.
func (g *loadgen) setup(ctx context.Context) error {
	var err error
	if g.startHead, err = g.head(ctx); err != nil {
		return err
	}
	base := g.cfg.URLs[0]
	steps := []struct {
		path string
		body map[string]any
	}{
		{"/v1/regions", map[string]any{"code": g.root, "name": "压测市 " + g.run}},
		{"/v1/regions", map[string]any{"code": g.county, "name": "压测区 " + g.run, "parent_code": g.root}},
		{"/v1/funds", map[string]any{"fund_id": g.fund, "name": "就业补助资金 " + g.run, "kind": "employment_subsidy", "region_code": g.root}},
		{"/v1/funds/" + g.fund + "/allocations", map[string]any{"amount": "100000000000.00", "date": "2026-01-05", "document": "loadgen " + g.run}},
		{"/v1/funds", map[string]any{"fund_id": g.guarantee, "name": "创业担保基金 " + g.run, "kind": "guarantee", "region_code": g.root}},
		{"/v1/programs", map[string]any{"program_id": g.program, "subsidy_type": "job_search", "name": "求职创业补贴",
			"amount_rule": map[string]any{"fixed": "500"}, "eligible_categories": []string{}, "limit_per_beneficiary": 0,
			"valid_from": "2026-01-01", "valid_to": "2026-12-31"}},
	}
	for i, s := range steps {
		if _, err := g.command(ctx, base, s.path, g.key("setup", i), s.body); err != nil {
			return fmt.Errorf("loadgen setup %s: %w", s.path, err)
		}
	}
	if err := g.registerPersons(ctx, base); err != nil {
		return err
	}
	return nil
}

// key is a unique Idempotency-Key of this run.
func (g *loadgen) key(who string, n int) string { return fmt.Sprintf("lg-%s-%s-%d", g.run, who, n) }

func (g *loadgen) registerPersons(ctx context.Context, base string) error {
	rng := rand.New(rand.NewPCG(g.seed, 0))
	for i := range loadgenPersons {
		body := map[string]any{"kind": "person", "id_number": randomIDNumber(rng), "name": "压测" + g.run,
			"region_code": g.county, "categories": []map[string]any{{"category": "returning_migrant", "from": "2026-01-01", "to": "2026-12-31"}}}
		answer, err := g.command(ctx, base, "/v1/beneficiaries", g.key("person", i), body)
		if err != nil {
			return fmt.Errorf("loadgen setup person %d: %w", i, err)
		}
		id, _ := answer["beneficiary_id"].(string)
		g.persons = append(g.persons, id)
	}
	return nil
}

// randomIDNumber returns a valid resident ID number (GB 11643 checksum)
// with a random birth date and sequence, so that every run has new people.
func randomIDNumber(rng *rand.Rand) string {
	born := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(40*365))
	first17 := fmt.Sprintf("610902%s%03d", born.Format("20060102"), rng.IntN(1000))
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for k, w := range weights {
		sum += int(first17[k]-'0') * w
	}
	return first17 + string("10X98765432"[sum%11])
}

// drive runs the clients until ctx ends or the count is reached and
// returns how long the load ran.
func (g *loadgen) drive(ctx context.Context) time.Duration {
	g.started = time.Now()
	var wg sync.WaitGroup
	for i := range g.cfg.Clients {
		c := &loadClient{g: g, id: i, rng: rand.New(rand.NewPCG(uint64(i), uint64(g.started.UnixNano()))),
			url: g.cfg.URLs[i%len(g.cfg.URLs)], queryURL: g.cfg.URLs[(i+1)%len(g.cfg.URLs)]}
		wg.Go(func() { c.loop(ctx) })
	}
	wg.Wait()
	return time.Since(g.started)
}

// loadClient is one client of the mix, with the loans it issued.
type loadClient struct {
	g             *loadgen
	id            int
	rng           *rand.Rand
	url, queryURL string
	loans         []string
	lastPosition  uint64 // of its last acknowledged command: read-your-writes across servers
	n             int
}

func (c *loadClient) loop(ctx context.Context) {
	g := c.g
	for ctx.Err() == nil {
		n := g.next.Add(1)
		if n > g.cfg.Count {
			return
		}
		if g.cfg.Rate > 0 {
			due := g.started.Add(time.Duration(float64(n-1) / g.cfg.Rate * float64(time.Second)))
			select {
			case <-time.After(time.Until(due)):
			case <-ctx.Done():
				return
			}
		}
		kind := c.pick()
		t0 := time.Now()
		err := c.do(ctx, kind)
		if ctx.Err() != nil {
			return // cut short by the end of the run: neither a success nor a failure
		}
		g.observe(kind, time.Since(t0), err)
	}
}

// pick draws an operation from the mix; a client without a loan issues one.
func (c *loadClient) pick() opKind {
	if len(c.loans) == 0 {
		return opLoan
	}
	r := c.rng.IntN(100)
	for k, w := range opWeights {
		if r < w {
			return opKind(k)
		}
		r -= w
	}
	return opQuery
}

func (c *loadClient) do(ctx context.Context, kind opKind) error {
	if kind == opQuery {
		return c.query(ctx)
	}
	c.n++
	path, body := c.commandFor(kind)
	answer, err := c.g.command(ctx, c.url, path, c.g.key(fmt.Sprintf("c%d", c.id), c.n), body)
	if err != nil {
		return err
	}
	if p, ok := answer["position"].(float64); ok {
		c.lastPosition = uint64(p)
	}
	if kind == opLoan {
		c.loans = append(c.loans, body["loan_id"].(string))
	}
	return nil
}

// commandFor builds one command of the given kind.
func (c *loadClient) commandFor(kind opKind) (string, map[string]any) {
	g := c.g
	person := g.persons[c.rng.IntN(len(g.persons))]
	day := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, c.rng.IntN(300)).Format(time.DateOnly)
	switch kind {
	case opPlacement:
		kinds := []string{"urban_job", "rural_transfer", "public_welfare_post", "community_factory", "startup"}
		return "/v1/placements", map[string]any{"placement_id": fmt.Sprintf("LG-%s-P%d-%d", g.run, c.id, c.n),
			"beneficiary_id": person, "kind": kinds[c.rng.IntN(len(kinds))], "region_code": g.county, "date": day}
	case opSubsidy:
		return "/v1/subsidies", map[string]any{"program_id": g.program, "beneficiary_id": person, "fund_id": g.fund,
			"amount": "500", "date": day, "document": "人社发〔2026〕" + g.run}
	case opRepayment:
		loan := c.loans[c.rng.IntN(len(c.loans))]
		return "/v1/loans/" + loan + "/repayments", map[string]any{"principal": "10.00", "interest": "0.36", "date": day}
	case opInterest:
		loan := c.loans[c.rng.IntN(len(c.loans))]
		return "/v1/loans/" + loan + "/interest-subsidies", map[string]any{"amount": "1.50", "fund_id": g.fund, "period_end": day}
	default:
		return "/v1/loans", map[string]any{"loan_id": fmt.Sprintf("LG-%s-L%d-%d", g.run, c.id, c.n), "borrower_id": person,
			"borrower_kind": "individual", "bank": "安康农商银行", "principal": "100000.00", "annual_rate": "0.0435",
			"term_months": 36, "issue_date": "2026-01-15", "guarantee_fund_id": g.guarantee, "region_code": g.county,
			"jobs_created": 2}
	}
}

// query reads one dashboard figure from the other server (when there are
// several), asking it to reflect this client's last command first.
func (c *loadClient) query(ctx context.Context) error {
	g := c.g
	paths := []string{"/v1/progress?region=" + g.root + "&year=2026", "/v1/portfolio?region=" + g.root,
		"/v1/funds/" + g.fund}
	if len(c.loans) > 0 {
		paths = append(paths, "/v1/loans/"+c.loans[c.rng.IntN(len(c.loans))])
	}
	path := paths[c.rng.IntN(len(paths))]
	status, out, err := g.send(ctx, http.MethodGet, c.queryURL+path, g.cfg.Token, nil,
		"X-Min-Position", fmt.Sprint(c.lastPosition))
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return &loadgenError{status: status, body: string(out)}
	}
	return nil
}

func (g *loadgen) observe(kind opKind, took time.Duration, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err == nil {
		g.latencies[kind] = append(g.latencies[kind], took)
		return
	}
	reason := "error"
	var le *loadgenError
	if errors.As(err, &le) {
		reason = fmt.Sprint(le.status)
	}
	g.failures[opNames[kind]+" "+reason]++
}

// report prints throughput and latency percentiles per kind of operation.
func (g *loadgen) report(w io.Writer, elapsed time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fmt.Fprintf(w, "%-10s %8s %9s %9s %9s\n", "operation", "ok", "p50", "p95", "p99")
	var commands, queries []time.Duration
	for k := range opKinds {
		l := slices.Clone(g.latencies[k])
		slices.Sort(l)
		fmt.Fprintf(w, "%-10s %8d %9s %9s %9s\n", opNames[k], len(l), pct(l, 50), pct(l, 95), pct(l, 99))
		if opKind(k) == opQuery {
			queries = l
		} else {
			commands = append(commands, l...)
		}
	}
	slices.Sort(commands)
	secs := elapsed.Seconds()
	fmt.Fprintf(w, "commands: %d acknowledged in %.1fs = %.0f commands/s (p50 %s, p95 %s, p99 %s)\n",
		len(commands), secs, float64(len(commands))/secs, pct(commands, 50), pct(commands, 95), pct(commands, 99))
	fmt.Fprintf(w, "queries: %d in %.1fs = %.0f queries/s; retries %d; gave up %d\n",
		len(queries), secs, float64(len(queries))/secs, g.retries.Load(), g.failedTx.Load())
	if len(g.failures) > 0 {
		keys := make([]string, 0, len(g.failures))
		for k := range g.failures {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "refused or failed: %s x%d\n", k, g.failures[k])
		}
	}
}

// pct returns the p-th percentile of sorted latencies.
func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	d := sorted[min(len(sorted)-1, len(sorted)*p/100)]
	return d.Round(10 * time.Microsecond).String()
}

// logEvent is the part of a GET /v1/events envelope the check needs.
type logEvent struct {
	Position uint64 `json:"position"`
	Metadata struct {
		CommandID string `json:"command_id"`
	} `json:"metadata"`
}

// verification is what the log says about this run's commands.
type verification struct {
	acked, found, missing, duplicated, misplaced int
	from, to                                     uint64
	problems                                     []string // the first few, for the report
}

// maxReportedProblems bounds the problems a verification lists.
const maxReportedProblems = 10

func (v *verification) problem(format string, args ...any) {
	if len(v.problems) < maxReportedProblems {
		v.problems = append(v.problems, fmt.Sprintf(format, args...))
	}
}

func (v verification) String() string {
	s := fmt.Sprintf("verify: log read from position %d to %d: %d acknowledged commands, %d found exactly once where acknowledged, %d missing, %d duplicated, %d misplaced or partial",
		v.from+1, v.to, v.acked, v.found, v.missing, v.duplicated, v.misplaced)
	for _, p := range v.problems {
		s += "\n  " + p
	}
	return s
}

// err is nil when every acknowledged command is in the log exactly once.
func (v verification) err() error {
	if v.missing+v.duplicated+v.misplaced > 0 {
		return fmt.Errorf("loadgen: the log does not hold every acknowledged command exactly once (%d missing, %d duplicated, %d misplaced)",
			v.missing, v.duplicated, v.misplaced)
	}
	return nil
}

// verify reads the log from where the run started (as an auditor) and
// checks that every acknowledged command is there exactly once, whole and
// at the positions it was acknowledged at, and that no command of the run
// appears twice. The command id of an event is `<actor name>/<key>`.
func (g *loadgen) verify(ctx context.Context) (verification, error) {
	spans, last, err := g.readSpans(ctx)
	if err != nil {
		return verification{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	v := verification{acked: len(g.acked), from: g.startHead, to: last}
	for key, want := range g.acked {
		got := spans[key]
		switch {
		case len(got) == 0:
			v.missing++
			v.problem("missing: %s acknowledged at %d..%d", key, want.first, want.last)
		case len(got) > 1:
			v.duplicated++
			v.problem("duplicated: %s at %v", key, got)
		case got[0] != want:
			v.misplaced++
			v.problem("misplaced or partial: %s at %d..%d, acknowledged at %d..%d", key, got[0].first, got[0].last, want.first, want.last)
		default:
			v.found++
		}
	}
	for key, got := range spans {
		if _, acked := g.acked[key]; !acked && len(got) > 1 {
			v.duplicated++
			v.problem("duplicated (not acknowledged): %s at %v", key, got)
		}
	}
	return v, nil
}

// readSpans pages through the log after startHead and returns, for each of
// this run's keys, the runs of consecutive positions holding its events.
func (g *loadgen) readSpans(ctx context.Context) (map[string][]receipt, uint64, error) {
	spans := map[string][]receipt{}
	prefix := "lg-" + g.run + "-"
	after := g.startHead
	for {
		target := fmt.Sprintf("%s/v1/events?after=%d&limit=%d", g.cfg.URLs[0], after, loadgenEventsPage)
		status, out, err := g.send(ctx, http.MethodGet, target, g.cfg.AuditToken, nil)
		if err != nil || status != http.StatusOK {
			return nil, 0, fmt.Errorf("loadgen: read the log after %d: status %d: %v %s", after, status, err, out)
		}
		var page struct {
			Events []logEvent `json:"events"`
		}
		if err := json.Unmarshal(out, &page); err != nil {
			return nil, 0, fmt.Errorf("loadgen: events page: %w", err)
		}
		if len(page.Events) == 0 {
			return spans, after, nil
		}
		for _, e := range page.Events {
			id := e.Metadata.CommandID
			key := id[strings.LastIndex(id, "/")+1:]
			if !strings.HasPrefix(key, prefix) {
				continue
			}
			s := spans[key]
			if n := len(s); n > 0 && s[n-1].last+1 == e.Position {
				s[n-1].last = e.Position
			} else {
				s = append(s, receipt{first: e.Position, last: e.Position})
			}
			spans[key] = s
		}
		after = page.Events[len(page.Events)-1].Position
	}
}
