package api

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// latencyBuckets are the upper bounds, in seconds, of the latency histograms.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

type histogram struct {
	counts []uint64 // one per bucket, then +Inf
	sum    float64
	total  uint64
}

func (h *histogram) observe(d time.Duration) {
	if h.counts == nil {
		h.counts = make([]uint64, len(latencyBuckets)+1)
	}
	s := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, s)
	h.counts[i]++
	h.sum += s
	h.total++
}

// metrics are the server's Prometheus counters, written in the text
// exposition format by hand: a handful of series needs no client library.
type metrics struct {
	mu         sync.Mutex
	requests   map[string]uint64 // "method status"
	commands   map[string]uint64 // accepted commands by kind
	refusals   map[string]uint64 // refused commands by rule
	appendLat  histogram         // command decide + durable append
	requestLat histogram
	viewLag    func() (uint64, uint64) // log head and views position
}

func newMetrics() *metrics {
	return &metrics{requests: map[string]uint64{}, commands: map[string]uint64{}, refusals: map[string]uint64{}}
}

func (m *metrics) observeRequest(method string, status int, d time.Duration) {
	m.mu.Lock()
	m.requests[method+" "+strconv.Itoa(status)]++
	m.requestLat.observe(d)
	m.mu.Unlock()
}

func (m *metrics) observeCommand(kind string, d time.Duration) {
	m.mu.Lock()
	m.commands[kind]++
	m.appendLat.observe(d)
	m.mu.Unlock()
}

func (m *metrics) observeRefusal(reason string) {
	m.mu.Lock()
	m.refusals[reason]++
	m.mu.Unlock()
}

func (m *metrics) serve(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.mu.Lock()
	defer m.mu.Unlock()
	writeCounter(w, "ledger_http_requests_total", "HTTP requests by method and status.", m.requests, "method", "status")
	writeCounter(w, "ledger_commands_total", "Commands accepted, by kind.", m.commands, "kind")
	writeCounter(w, "ledger_command_refusals_total", "Commands refused, by reason.", m.refusals, "reason")
	writeHistogram(w, "ledger_command_append_seconds", "Time to decide a command and make it durable.", &m.appendLat)
	writeHistogram(w, "ledger_http_request_seconds", "Time to answer an HTTP request.", &m.requestLat)
	if m.viewLag != nil {
		head, views := m.viewLag()
		fmt.Fprintf(w, "# HELP ledger_log_head_position Position of the last event written by this server.\n# TYPE ledger_log_head_position gauge\nledger_log_head_position %d\n", head)
		fmt.Fprintf(w, "# HELP ledger_views_position Position the views have applied.\n# TYPE ledger_views_position gauge\nledger_views_position %d\n", views)
		lag := uint64(0)
		if head > views {
			lag = head - views
		}
		fmt.Fprintf(w, "# HELP ledger_projection_lag_events Events written but not yet in the views.\n# TYPE ledger_projection_lag_events gauge\nledger_projection_lag_events %d\n", lag)
	}
}

// writeCounter writes a counter family; keys hold the label values joined by spaces.
func writeCounter(w io.Writer, name, help string, values map[string]uint64, labels ...string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s{%s} %d\n", name, labelSet(labels, k), values[k])
	}
}

func labelSet(labels []string, key string) string {
	parts := strings.SplitN(key, " ", len(labels))
	out := ""
	for i, l := range labels {
		if i > 0 {
			out += ","
		}
		out += l + "=" + strconv.Quote(parts[i])
	}
	return out
}

func writeHistogram(w io.Writer, name, help string, h *histogram) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	cumulative := uint64(0)
	for i, bound := range latencyBuckets {
		if h.counts != nil {
			cumulative += h.counts[i]
		}
		fmt.Fprintf(w, "%s_bucket{le=%q} %d\n", name, strconv.FormatFloat(bound, 'g', -1, 64), cumulative)
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %g\n%s_count %d\n", name, h.total, name, h.sum, name, h.total)
}
