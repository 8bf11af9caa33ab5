package api

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func nested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

func TestCheckDepth(t *testing.T) {
	cases := []struct {
		name string
		body string
		ok   bool
	}{
		{"a flat object passes", `{"a":1,"b":[1,2]}`, true},
		{"nesting up to the limit passes", `{"a":` + nested(maxJSONDepth-1) + `}`, true},
		{"nesting beyond the limit is refused", `{"a":` + nested(maxJSONDepth) + `}`, false},
		{"brackets inside strings do not count", `{"a":"` + strings.Repeat("[{", 100) + `"}`, true},
		{"an escaped quote does not end a string", `{"a":"\"` + strings.Repeat("[", 100) + `"}`, true},
		{"a deep body that is not even valid JSON is refused", strings.Repeat("[", 10000), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := checkDepth([]byte(c.body)); (err == nil) != c.ok {
				t.Errorf("checkDepth = %v, want ok %v", err, c.ok)
			}
		})
	}
}

func TestDeeplyNestedBodyIsRefusedBeforeDecoding(t *testing.T) {
	f := newCommandFixture(t, Config{})
	body := `{"code":"610900","name":"安康市","flags":` + nested(100000) + `}`
	r := f.send("POST", "/v1/regions", "tok-wang", body)
	if r.status != http.StatusBadRequest || !strings.Contains(r.raw, "nests deeper") {
		t.Errorf("got %d %s, want 400 about nesting", r.status, r.raw)
	}
	if n := len(f.events()); n != 0 {
		t.Errorf("%d events appended, want none", n)
	}
}

func TestHistorySpan(t *testing.T) {
	cases := []struct {
		from, to string
		ok       bool
	}{
		{"2017-01-01", "2017-12-31", true},
		{"", "2999-12-31", true},
		{"1900-01-01", "", true},
		{"2010-01-01", "2020-01-09", true},
		{"2010-01-01", "2020-01-10", false},
		{"1900-01-01", "2999-12-31", false},
	}
	for _, c := range cases {
		t.Run(c.from+".."+c.to, func(t *testing.T) {
			err := checkSpan(c.from, c.to)
			if (err == nil) != c.ok {
				t.Errorf("checkSpan = %v, want ok %v", err, c.ok)
			}
			if err != nil && problemFor(err).Field != "to" {
				t.Errorf("field = %q, want to", problemFor(err).Field)
			}
		})
	}
}

func TestRateLimitPerToken(t *testing.T) {
	f := newCommandFixture(t, Config{RatePerToken: 1, RateBurst: 3})
	for i := range 3 {
		f.must(http.StatusOK, "GET", "/v1/whoami", "tok-wang", nil)
		_ = i
	}
	limited := f.send("GET", "/v1/whoami", "tok-wang", nil)
	t.Run("the request past the burst answers 429 problem+json", func(t *testing.T) {
		if limited.status != http.StatusTooManyRequests || limited.header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("got %d %s %s, want 429 problem+json", limited.status, limited.header.Get("Content-Type"), limited.raw)
		}
	})
	t.Run("it says when to retry", func(t *testing.T) {
		if s, err := strconv.Atoi(limited.header.Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("Retry-After = %q, want a whole number of seconds", limited.header.Get("Retry-After"))
		}
	})
	t.Run("another person's token is not slowed", func(t *testing.T) {
		f.must(http.StatusOK, "GET", "/v1/whoami", "tok-zhou", nil)
	})
	t.Run("a limited command appends nothing", func(t *testing.T) {
		before := len(f.events())
		r := f.send("POST", "/v1/regions", "tok-wang", map[string]any{"code": "610900", "name": "安康市"})
		if r.status != http.StatusTooManyRequests || len(f.events()) != before {
			t.Errorf("got %d with %d new events, want 429 and none", r.status, len(f.events())-before)
		}
	})
	t.Run("the bucket refills with time", func(t *testing.T) {
		time.Sleep(1100 * time.Millisecond)
		f.must(http.StatusOK, "GET", "/v1/whoami", "tok-wang", nil)
	})
}

func TestConcurrencyGate(t *testing.T) {
	l := newLimits(0, 0)
	for range maxConcurrentRequests {
		l.inFlight <- struct{}{}
	}
	served := 0
	h := l.gate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served++ }))
	t.Run("a request past the limit answers 503 with Retry-After at once", func(t *testing.T) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/progress", nil))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" || served != 0 {
			t.Errorf("got %d Retry-After %q served %d, want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"), served)
		}
	})
	t.Run("a live subscription is not counted", func(t *testing.T) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/subscribe", nil))
		if served != 1 {
			t.Errorf("served %d, want 1", served)
		}
	})
	t.Run("a freed slot serves again", func(t *testing.T) {
		<-l.inFlight
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/progress", nil))
		if rec.Code != http.StatusOK || served != 2 {
			t.Errorf("got %d served %d, want 200 and 2", rec.Code, served)
		}
	})
}

// TestSlowClientIsCutOff holds a connection open with half a request
// header: the server closes it once readHeaderTimeout has passed.
func TestSlowClientIsCutOff(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the header timeout")
	}
	s, _ := newDocServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := s.HTTPServer(ln.Addr().String())
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	t.Run("the server sets every slow-client timeout", func(t *testing.T) {
		if srv.ReadHeaderTimeout == 0 || srv.ReadTimeout == 0 || srv.IdleTimeout == 0 || srv.MaxHeaderBytes != maxHeaderBytes {
			t.Errorf("timeouts %v %v %v, max header %d", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
		}
	})
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(readHeaderTimeout + 5*time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n')
	elapsed := time.Since(start)
	t.Run("a half-sent header is cut off after the header timeout", func(t *testing.T) {
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			t.Fatalf("the server kept the connection for %v", elapsed)
		}
		if elapsed < readHeaderTimeout-time.Second || elapsed > readHeaderTimeout+4*time.Second {
			t.Errorf("closed after %v, want about %v", elapsed, readHeaderTimeout)
		}
	})
}
