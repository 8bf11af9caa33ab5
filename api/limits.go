package api

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	timerate "golang.org/x/time/rate"

	"github.com/hrss-ledger/ledger/domain"
)

// Limits against hostile or runaway clients, besides the body size and the
// timeouts of server.go.
const (
	// maxJSONDepth is how deeply a body's arrays and objects may nest: the
	// deepest command body has 3 levels; a deeper one is refused before it
	// is decoded, so that it cannot cost the decoder stack and time.
	maxJSONDepth = 16
	// maxConcurrentRequests is how many requests one server works on at
	// once (Server-Sent Events streams have their own limit); the rest are
	// told to come back at once rather than queue without bound.
	maxConcurrentRequests = 512
	// maxHistoryDays is the longest from..to span of one history query.
	maxHistoryDays = 3660
	// maxHeaderBytes bounds a request's header block.
	maxHeaderBytes = 64 << 10
	// busyRetryAfter is what a client told "busy" should wait, in seconds.
	busyRetryAfter = 1
)

// limits holds the per-token rate limiters and the concurrency gate.
type limits struct {
	perSecond timerate.Limit // 0: no per-token limit
	burst     int
	mu        sync.Mutex
	buckets   map[Principal]*timerate.Limiter // bounded by the tokens file
	inFlight  chan struct{}
}

func newLimits(perSecond float64, burst int) *limits {
	if burst < 1 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return &limits{perSecond: timerate.Limit(perSecond), burst: burst,
		buckets: map[Principal]*timerate.Limiter{}, inFlight: make(chan struct{}, maxConcurrentRequests)}
}

// allow takes one request from the principal's token bucket, or answers 429
// with Retry-After and returns false. One person's tokens share no bucket
// with another's, so a runaway script slows only its own owner.
func (l *limits) allow(w http.ResponseWriter, r *http.Request, p Principal) bool {
	if l == nil || l.perSecond <= 0 {
		return true
	}
	l.mu.Lock()
	bucket, ok := l.buckets[p]
	if !ok {
		bucket = timerate.NewLimiter(l.perSecond, l.burst)
		l.buckets[p] = bucket
	}
	l.mu.Unlock()
	now := time.Now()
	reservation := bucket.ReserveN(now, 1)
	wait := reservation.DelayFrom(now)
	if wait == 0 {
		return true
	}
	reservation.CancelAt(now)
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	writeProblem(w, r, &Problem{Status: http.StatusTooManyRequests, Title: "Too Many Requests",
		Detail: "this token has made too many requests; retry after the time in Retry-After"})
	return false
}

// gate bounds the requests worked on at once. Server-Sent Events streams
// are not counted: they last for hours and have their own limit.
func (l *limits) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/subscribe" {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case l.inFlight <- struct{}{}:
			defer func() { <-l.inFlight }()
			next.ServeHTTP(w, r)
		default:
			// Answered without writeProblem's error log: under overload
			// one line per refused request would only add to the load.
			w.Header().Set("Retry-After", strconv.Itoa(busyRetryAfter))
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable", RequestID: requestID(r),
				Detail: "the server is working on as many requests as it takes; nothing was recorded, retry later"})
		}
	})
}

// checkDepth refuses JSON nested deeper than maxJSONDepth. It only counts
// brackets outside strings; the decoder checks everything else.
func checkDepth(body []byte) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range body {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			if depth > maxJSONDepth {
				return badRequest("", "the JSON body nests deeper than "+strconv.Itoa(maxJSONDepth)+" levels")
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// checkSpan refuses a from..to range longer than maxHistoryDays; either end
// may be open (the account's first or last entry bounds it then).
func checkSpan(from, to string) error {
	if from == "" || to == "" {
		return nil
	}
	f, ferr := domain.ParseDate(from)
	t, terr := domain.ParseDate(to)
	if ferr != nil || terr != nil {
		return nil // the date parameters are checked, and named, by their reader
	}
	if days := t.Time().Sub(f.Time()).Hours() / 24; days > maxHistoryDays {
		return badRequest("to", "the range from..to spans more than "+strconv.Itoa(maxHistoryDays)+" days")
	}
	return nil
}
