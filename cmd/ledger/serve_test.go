package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	natsstore "github.com/hrss-ledger/ledger/eventstore/jetstream"
)

// testServer is a real `ledger serve` on the embedded store, on port 0.
type testServer struct {
	t      *testing.T
	m      *Main
	cancel context.CancelFunc
	done   chan error
	data   string
	// stopOnce lets a test stop the server from several goroutines.
	stopOnce sync.Once
	client   *http.Client // nil: http.DefaultClient
	// runMayFail is set by tests that break the log under a running
	// server, which then stops with an error.
	runMayFail bool
}

const testTokens = `officer  tok-officer  officer-wang
approver tok-approver approver-li
auditor  tok-auditor  auditor-zhao
viewer   tok-viewer   viewer-screen
`

func startServer(t *testing.T, dataDir string) *testServer {
	t.Helper()
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte(testTokens), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := Open(context.Background(), Config{DataDir: dataDir, Listen: "127.0.0.1:0", TokensFile: tokens})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{t: t, m: m, cancel: cancel, done: make(chan error, 1), data: dataDir}
	go func() { s.done <- m.Run(ctx) }()
	t.Cleanup(s.stop)
	return s
}

// stop shuts the server down once, however many callers ask.
func (s *testServer) stop() {
	s.stopOnce.Do(func() {
		s.cancel()
		if err := <-s.done; err != nil && !s.runMayFail {
			s.t.Errorf("run: %v", err)
		}
		if err := s.m.Close(); err != nil {
			s.t.Errorf("close: %v", err)
		}
	})
}

type answer struct {
	status int
	body   map[string]any
	raw    []byte
	header http.Header
}

func (s *testServer) do(method, path, token string, body any, headers ...string) answer {
	s.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		reader = bytes.NewBufferString(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.m.URL()+path, reader)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := s.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: raw, header: resp.Header}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// must posts and fails the test unless the answer has the wanted status.
func (s *testServer) must(want int, method, path, token string, body any, headers ...string) answer {
	s.t.Helper()
	a := s.do(method, path, token, body, headers...)
	if a.status != want {
		s.t.Fatalf("%s %s: got %d %s, want %d", method, path, a.status, a.raw, want)
	}
	return a
}

const (
	officer  = "tok-officer"
	approver = "tok-approver"
	auditor  = "tok-auditor"
	viewer   = "tok-viewer"
)

// seedCity records a small region tree, a fund with money, a person and a program.
func seedCity(s *testServer) (beneficiaryID string) {
	s.must(201, "POST", "/v1/regions", officer, map[string]any{"code": "610000", "name": "陕西省"})
	s.must(201, "POST", "/v1/regions", officer, map[string]any{"code": "610900", "name": "安康市", "parent_code": "610000"})
	s.must(201, "POST", "/v1/regions", officer, map[string]any{"code": "610902", "name": "汉滨区", "parent_code": "610900"})
	s.must(201, "POST", "/v1/funds", officer, map[string]any{"fund_id": "AK-EMP", "name": "安康市就业补助资金", "kind": "employment_subsidy", "region_code": "610900"})
	s.must(201, "POST", "/v1/funds/AK-EMP/allocations", officer, map[string]any{"amount": "100000.00", "date": "2017-01-05", "document": "安财社〔2017〕1号"})
	person := map[string]any{"kind": "person", "id_number": "11010519491231002X", "name": "张三", "region_code": "610902",
		"categories": []map[string]any{{"category": "returning_migrant", "from": "2017-01-01", "to": "2017-12-31"}}}
	a := s.must(201, "POST", "/v1/beneficiaries", officer, person)
	beneficiaryID = a.body["beneficiary_id"].(string)
	again := s.must(200, "POST", "/v1/beneficiaries", officer, person)
	if again.body["beneficiary_id"] != beneficiaryID {
		s.t.Fatalf("second registration: got %v, want %s", again.body["beneficiary_id"], beneficiaryID)
	}
	s.must(201, "POST", "/v1/programs", officer, map[string]any{"program_id": "P-STARTUP", "subsidy_type": "one_time_startup",
		"name": "一次性创业补贴", "amount_rule": map[string]any{"fixed": "5000"}, "eligible_categories": []string{"returning_migrant"},
		"limit_per_beneficiary": 1, "valid_from": "2017-01-01", "valid_to": "2017-12-31"})
	return beneficiaryID
}

func TestServeEndToEnd(t *testing.T) {
	s := startServer(t, t.TempDir())
	s.must(200, "GET", "/healthz", "", nil)
	person := seedCity(s)
	pay := map[string]any{"program_id": "P-STARTUP", "beneficiary_id": person, "fund_id": "AK-EMP",
		"amount": "5000", "date": "2017-03-01", "document": "安人社发〔2017〕8号"}

	t.Run("a subsidy is paid once and a retry with the same key returns the original answer", func(t *testing.T) {
		first := s.must(201, "POST", "/v1/subsidies", officer, pay, "Idempotency-Key", "pay-1")
		head := s.must(200, "GET", "/healthz", "", nil).body["position"]
		retry := s.must(201, "POST", "/v1/subsidies", officer, pay, "Idempotency-Key", "pay-1")
		if retry.body["payment_id"] != first.body["payment_id"] || retry.body["position"] != first.body["position"] {
			t.Errorf("retry: got %v, want %v", retry.body, first.body)
		}
		if after := s.must(200, "GET", "/healthz", "", nil).body["position"]; after != head {
			t.Errorf("retry appended: head %v, want %v", after, head)
		}
		other := s.do("POST", "/v1/subsidies", officer, map[string]any{"program_id": "P-STARTUP", "beneficiary_id": person,
			"fund_id": "AK-EMP", "amount": "5000", "date": "2017-03-02", "document": "x"}, "Idempotency-Key", "pay-1")
		if other.status != 409 || other.body["field"] != "Idempotency-Key" {
			t.Errorf("same key, other body: got %d %s, want 409 naming Idempotency-Key", other.status, other.raw)
		}
	})

	t.Run("the fund and its history reflect the payment at once", func(t *testing.T) {
		fund := s.must(200, "GET", "/v1/funds/AK-EMP", viewer, nil)
		if fund.body["balance"] != "95000.00" || fund.body["paid_out"] != "5000.00" {
			t.Errorf("fund: got %s, want balance 95000.00 paid_out 5000.00", fund.raw)
		}
		history := s.must(200, "GET", "/v1/history?account=fund:AK-EMP", officer, nil)
		entries, _ := history.body["entries"].([]any)
		if len(entries) != 2 {
			t.Fatalf("history: got %d entries (%s), want 2", len(entries), history.raw)
		}
		last := entries[1].(map[string]any)
		if last["balance_after"] != "95000.00" {
			t.Errorf("history balance_after: got %v, want 95000.00", last["balance_after"])
		}
		csv := s.must(200, "GET", "/v1/history?account=fund:AK-EMP", auditor, nil, "Accept", "text/csv")
		if !bytes.Contains(csv.raw, []byte("balance_after")) || !bytes.Contains(csv.raw, []byte("95000.00")) {
			t.Errorf("history CSV: got %s", csv.raw)
		}
	})

	t.Run("every error class answers problem+json naming the field and appends nothing", func(t *testing.T) {
		head := s.must(200, "GET", "/healthz", "", nil).body["position"]
		cases := []struct {
			name, path, token string
			body              any
			status            int
			field             string
		}{
			{"no token", "/v1/subsidies", "", pay, 401, ""},
			{"bad token", "/v1/subsidies", "nope", pay, 401, ""},
			{"a viewer may not pay", "/v1/subsidies", viewer, pay, 403, ""},
			{"an officer may not write off", "/v1/loans/L1/write-offs", officer, map[string]any{"amount": "1", "fund_id": "F", "date": "2017-01-01", "document": "d"}, 403, ""},
			{"three decimals", "/v1/funds/AK-EMP/allocations", officer, map[string]any{"amount": "1.001", "date": "2017-01-05", "document": "d"}, 400, "amount"},
			{"money as a number", "/v1/funds/AK-EMP/allocations", officer, map[string]any{"amount": 100, "date": "2017-01-05", "document": "d"}, 400, "amount"},
			{"exponent", "/v1/funds/AK-EMP/allocations", officer, map[string]any{"amount": "1e5", "date": "2017-01-05", "document": "d"}, 400, "amount"},
			{"unknown field", "/v1/funds/AK-EMP/allocations", officer, map[string]any{"amount": "1", "date": "2017-01-05", "document": "d", "extra": 1}, 400, "extra"},
			{"malformed JSON", "/v1/funds/AK-EMP/allocations", officer, `{"amount":`, 400, ""},
			{"bad date", "/v1/funds/AK-EMP/allocations", officer, map[string]any{"amount": "1", "date": "2017-02-30", "document": "d"}, 400, "date"},
			{"bad ID number", "/v1/beneficiaries", officer, map[string]any{"kind": "person", "id_number": "110105194912310021", "name": "李四", "region_code": "610902"}, 400, "id_number"},
			{"unknown fund", "/v1/funds/NOPE/allocations", officer, map[string]any{"amount": "1", "date": "2017-01-05", "document": "d"}, 404, "fund_id"},
			{"per-person limit", "/v1/subsidies", officer, map[string]any{"program_id": "P-STARTUP", "beneficiary_id": person, "fund_id": "AK-EMP", "amount": "5000", "date": "2017-03-01", "document": "d"}, 422, ""},
		}
		for _, c := range cases {
			a := s.do("POST", c.path, c.token, c.body)
			if a.status != c.status {
				t.Errorf("%s: got %d %s, want %d", c.name, a.status, a.raw, c.status)
				continue
			}
			if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s: content type %q", c.name, ct)
			}
			if c.field != "" && a.body["field"] != c.field {
				t.Errorf("%s: field %v, want %s", c.name, a.body["field"], c.field)
			}
		}
		if after := s.must(200, "GET", "/healthz", "", nil).body["position"]; after != head {
			t.Errorf("refusals appended: head %v, want %v", after, head)
		}
	})

	t.Run("the raw log is for auditors only", func(t *testing.T) {
		s.must(403, "GET", "/v1/events?after=0&limit=2", viewer, nil)
		page := s.must(200, "GET", "/v1/events?after=0&limit=2", auditor, nil)
		events, _ := page.body["events"].([]any)
		if len(events) != 2 {
			t.Fatalf("events: got %s", page.raw)
		}
		if events[0].(map[string]any)["metadata"].(map[string]any)["actor"] != "officer-wang" {
			t.Errorf("actor: got %v", events[0])
		}
	})
}

func TestServeIdempotencyAcrossRestart(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	person := seedCity(s)
	pay := map[string]any{"program_id": "P-STARTUP", "beneficiary_id": person, "fund_id": "AK-EMP",
		"amount": "5000", "date": "2017-03-01", "document": "安人社发〔2017〕8号"}
	first := s.must(201, "POST", "/v1/subsidies", officer, pay, "Idempotency-Key", "restart-1")
	s.stop()

	restarted := startServer(t, data)
	deadline := time.Now().Add(10 * time.Second)
	for restarted.do("GET", "/healthz", "", nil).status != 200 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	retry := restarted.must(201, "POST", "/v1/subsidies", officer, pay, "Idempotency-Key", "restart-1")
	if retry.body["payment_id"] != first.body["payment_id"] {
		t.Errorf("retry after restart: got %v, want %v", retry.body["payment_id"], first.body["payment_id"])
	}
	fund := restarted.must(200, "GET", "/v1/funds/AK-EMP", viewer, nil)
	if fund.body["balance"] != "95000.00" {
		t.Errorf("balance after restart and retry: got %v, want 95000.00", fund.body["balance"])
	}
}

func TestServeSubscriptionDeliversAChange(t *testing.T) {
	s := startServer(t, t.TempDir())
	person := seedCity(s)
	req, err := http.NewRequest("GET", s.m.URL()+"/v1/subscribe?views=progress&region=610900", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+viewer)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("subscribe: got %d %q", resp.StatusCode, ct)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		buf := make([]byte, 4096)
		var pending string
		for {
			n, err := resp.Body.Read(buf)
			pending += string(buf[:n])
			for {
				i := bytes.IndexByte([]byte(pending), '\n')
				if i < 0 {
					break
				}
				lines <- pending[:i]
				pending = pending[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	<-lines // the ": subscribed" comment: the subscription is in place
	s.must(201, "POST", "/v1/placements", officer, map[string]any{"placement_id": "PL-1", "beneficiary_id": person,
		"kind": "urban_job", "region_code": "610902", "date": "2017-04-01"})
	for line := range lines {
		data, ok := bytes.CutPrefix([]byte(line), []byte("data: "))
		if !ok {
			continue
		}
		var report struct {
			Region     string `json:"region"`
			Indicators []struct {
				Indicator string `json:"indicator"`
				Actual    string `json:"actual"`
			} `json:"indicators"`
		}
		if err := json.Unmarshal(data, &report); err != nil {
			t.Fatalf("event data: %v: %s", err, data)
		}
		for _, ind := range report.Indicators {
			if report.Region == "610900" && ind.Indicator == "new_urban_jobs" && ind.Actual == "1" {
				return
			}
		}
	}
	t.Fatal("no progress change with the placement arrived before the stream ended")
}

func TestServePublishesViewsOnNATS(t *testing.T) {
	s := startServer(t, t.TempDir())
	nc := s.m.store.(*natsstore.Store).Conn()
	changes := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe("ledger.views.progress.>", changes)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	person := seedCity(s)
	s.must(201, "POST", "/v1/placements", officer, map[string]any{"placement_id": "PL-9", "beneficiary_id": person,
		"kind": "urban_job", "region_code": "610902", "date": "2017-04-01"})
	deadline := time.After(10 * time.Second)
	for {
		select {
		case msg := <-changes:
			if msg.Subject != "ledger.views.progress.610900" || !bytes.Contains(msg.Data, []byte(`"actual":"1"`)) {
				continue
			}
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			kv, err := js.KeyValue(context.Background(), viewsBucket)
			if err != nil {
				t.Fatal(err)
			}
			entry, err := kv.Get(context.Background(), "progress.610900.2017")
			if err != nil {
				t.Fatalf("latest value for a late joiner: %v", err)
			}
			if !bytes.Contains(entry.Value(), []byte(`"new_urban_jobs"`)) {
				t.Errorf("latest value: %s", entry.Value())
			}
			return
		case <-deadline:
			t.Fatal("no progress change for 610900 published on NATS")
		}
	}
}

// TestShutdownEndsLiveStreams keeps a dashboard's stream open while the
// server stops: the stream ends and the shutdown does not wait it out.
func TestShutdownEndsLiveStreams(t *testing.T) {
	s := startServer(t, t.TempDir())
	req, err := http.NewRequest("GET", s.m.URL()+"/v1/subscribe?views=funds", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+viewer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		close(ended)
	}()
	s.stop() // reports an error if the shutdown timed out waiting for the stream
	select {
	case <-ended:
	case <-time.After(time.Second):
		t.Error("the stream is still open after the server stopped")
	}
}
