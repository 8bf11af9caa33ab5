package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
)

// Problem is an RFC 9457 problem detail. Field names the bad input field.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	Field  string `json:"field,omitempty"`
	// RequestID lets an operator find the server's log line for this answer.
	RequestID string `json:"request_id,omitempty"`
}

// Error lets handlers return a problem as an error.
func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

func badRequest(field, detail string) *Problem {
	return &Problem{Status: http.StatusBadRequest, Title: "Bad Request", Field: field, Detail: detail}
}

func notFound(detail string) *Problem {
	return &Problem{Status: http.StatusNotFound, Title: "Not Found", Detail: detail}
}

// classStatus is the one table from domain error classes to HTTP statuses.
var classStatus = map[domain.Class]int{
	domain.Invalid:  http.StatusBadRequest,
	domain.NotFound: http.StatusNotFound,
	domain.Conflict: http.StatusConflict,
	domain.Refused:  http.StatusUnprocessableEntity,
}

// problemFor maps any error to the problem a client sees. Internal error
// text is never shown: it is logged with the request id instead.
func problemFor(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var de *domain.Error
	if errors.As(err, &de) {
		status, ok := classStatus[de.Class]
		if !ok {
			status = http.StatusUnprocessableEntity
		}
		detail := de.Rule.Error()
		if de.Detail != "" {
			detail += " (" + de.Detail + ")"
		}
		return &Problem{Status: status, Title: http.StatusText(status), Detail: detail, Field: de.Field}
	}
	switch {
	case errors.Is(err, eventstore.ErrIdempotencyMismatch):
		return &Problem{Status: http.StatusConflict, Title: "Conflict", Field: "Idempotency-Key",
			Detail: "this Idempotency-Key was used before with a different request"}
	case errors.Is(err, eventstore.ErrUnavailable), errors.Is(err, errViewsBehind),
		errors.Is(err, eventstore.ErrClosed):
		return &Problem{Status: http.StatusServiceUnavailable, Title: "Service Unavailable",
			Detail: "the ledger cannot answer now; nothing was recorded, retry later"}
	case errors.Is(err, ErrLogAltered):
		return &Problem{Status: http.StatusInternalServerError, Title: "Log Altered",
			Detail: "events read back from the log no longer hash to the Merkle tree built from them: " +
				"the log was altered, removed from or inserted into since the server started; " +
				"stop the server and run `ledger verify` to find the first bad position"}
	}
	return &Problem{Status: http.StatusInternalServerError, Title: "Internal Server Error",
		Detail: "an internal error occurred; nothing more is shown to clients"}
}

// writeProblem answers with problem+json and logs server-side failures.
func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := *problemFor(err)
	p.RequestID = requestID(r)
	if p.Status >= 500 {
		slog.Error("request failed", "request_id", p.RequestID, "method", r.Method,
			"path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers with a JSON document.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
