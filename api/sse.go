package api

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Limits of live subscriptions.
const (
	maxSubscribers    = 256              // concurrent SSE connections per server
	heartbeatInterval = 15 * time.Second // keeps proxies from closing an idle stream
)

// ViewChange is one view's new value, as dashboards receive it.
type ViewChange struct {
	View     string // progress, portfolio, funds or loans
	Key      string // region code, fund id or loan id
	Region   string
	Year     int
	Position uint64 // the log position the value reflects
	Data     []byte // the view's JSON, as the query endpoint answers it
}

// subscribableViews are the views a dashboard may subscribe to.
var subscribableViews = map[string]bool{"progress": true, "portfolio": true, "funds": true, "loans": true}

var subscribers atomic.Int64

// subscribe streams view changes as Server-Sent Events:
// GET /v1/subscribe?views=progress,portfolio,funds[&region=CODE].
func (s *Server) subscribe(w http.ResponseWriter, r *http.Request) {
	views, region, err := subscribeParams(r)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if subscribers.Add(1) > maxSubscribers {
		subscribers.Add(-1)
		writeProblem(w, r, &Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable",
			Detail: "too many live subscriptions; retry later"})
		return
	}
	defer subscribers.Add(-1)
	changes, cancel := s.views.Subscribe(views, region)
	defer cancel()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, ": subscribed to %s at position %d\n\n", strings.Join(views, ","), s.views.Position())
	if rc.Flush() != nil {
		return
	}
	heartbeat := time.NewTicker(heartbeatInterval)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.closing:
			return
		case <-heartbeat.C:
			fmt.Fprint(w, ": heartbeat\n\n")
		case c, ok := <-changes:
			if !ok {
				return
			}
			fmt.Fprintf(w, "event: %s\nid: %d\ndata: %s\n\n", c.View, c.Position, c.Data)
		}
		if rc.Flush() != nil {
			return
		}
	}
}

func subscribeParams(r *http.Request) ([]string, string, error) {
	q := r.URL.Query()
	var views []string
	for _, v := range strings.Split(q.Get("views"), ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if !subscribableViews[v] {
			return nil, "", badRequest("views", "each view is progress, portfolio, funds or loans")
		}
		views = append(views, v)
	}
	if len(views) == 0 {
		return nil, "", badRequest("views", "is required: a comma-separated list of progress, portfolio, funds, loans")
	}
	region := q.Get("region")
	if region != "" {
		if _, err := (params{r}).region(); err != nil {
			return nil, "", err
		}
	}
	return views, region, nil
}
