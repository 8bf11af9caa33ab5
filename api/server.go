// Package api is the ledger's HTTP face: the commands and queries of the
// public contract v1 (shared/API.md), with problem+json errors, bearer-token
// roles, idempotent POSTs, read-your-writes queries, Server-Sent Events and
// the OpenAPI document.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
)

// Limits of the HTTP layer.
const (
	maxBodyBytes      = 1 << 20          // one command's JSON body
	readHeaderTimeout = 5 * time.Second  // slow clients cannot hold a connection open
	readTimeout       = 30 * time.Second // a whole request
	writeTimeout      = 60 * time.Second // a whole answer, SSE excepted
	idleTimeout       = 2 * time.Minute
	viewWaitTimeout   = 5 * time.Second // read-your-writes: past this a query answers 503
)

// errViewsBehind: the views did not reach the asked position in time.
var errViewsBehind = errors.New("api: views behind the log")

// CommandRequest is one command with what the log records about it.
type CommandRequest struct {
	Command       domain.Command
	CommandID     string // the Idempotency-Key, or a fresh id
	Fingerprint   string // hash of method, path and body
	Actor         string
	CorrelationID string
}

// Receipt says what an accepted command produced and where it stands.
type Receipt struct {
	Events      []domain.Event
	First, Last uint64
	Duplicate   bool
}

// Commands decides and durably records commands (the sequencer).
type Commands interface {
	Execute(ctx context.Context, req CommandRequest) (Receipt, error)
	// Head is the log position of the last command this server acknowledged.
	Head() uint64
}

// PersonalData turns identities into pseudonyms and seals personal fields
// with a per-person key kept outside the log (see api/vault).
type PersonalData interface {
	Pseudonym(identity string) string
	Seal(beneficiaryID string, plain []byte) ([]byte, error)
	// Fingerprint is a keyed hash of a command's content: the log keeps it
	// for idempotency, and it must not let anyone confirm a guessed body.
	Fingerprint(content []byte) string
}

// Log is the raw event log, for auditors.
type Log interface {
	Read(ctx context.Context, after eventstore.Position, fn func(eventstore.Event) error) error
}

// Server serves the API. Build it with NewServer; Handler gives its routes.
type Server struct {
	commands Commands
	views    Views
	tokens   *Tokens
	personal PersonalData
	log      Log
	audit    Audit
	metrics  *metrics
	mux      *http.ServeMux
	limits   *limits
	fourEyes FourEyes
	// closing ends the live streams when the server shuts down: an open
	// dashboard must not hold a graceful shutdown for its whole timeout.
	closing   chan struct{}
	closeOnce sync.Once
}

// Config is what a Server is built from.
type Config struct {
	Commands Commands
	Views    Views
	Tokens   *Tokens
	Personal PersonalData
	Log      Log
	Audit    Audit // nil: the audit endpoints answer 503
	// RatePerToken bounds each person's requests per second, RateBurst
	// how many may come at once (0: no per-token limit; see limits.go).
	RatePerToken float64
	RateBurst    int
	// FourEyes names the commands that need a second person's approval.
	FourEyes FourEyes
}

// NewServer wires the handlers.
func NewServer(cfg Config) *Server {
	s := &Server{
		commands: cfg.Commands,
		views:    cfg.Views,
		tokens:   cfg.Tokens,
		personal: cfg.Personal,
		log:      cfg.Log,
		audit:    cfg.Audit,
		metrics:  newMetrics(),
		mux:      http.NewServeMux(),
		limits:   newLimits(cfg.RatePerToken, cfg.RateBurst),
		fourEyes: cfg.FourEyes,
		closing:  make(chan struct{}),
	}
	if s.commands != nil && s.views != nil {
		s.metrics.viewLag = func() (uint64, uint64) { return s.commands.Head(), s.views.Position() }
	}
	s.routes()
	return s
}

// CloseStreams ends every live subscription (SSE); further ones are refused.
func (s *Server) CloseStreams() { s.closeOnce.Do(func() { close(s.closing) }) }

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.withRequestID(s.limits.gate(s.mux)) }

// HTTPServer returns an http.Server with the timeouts the API needs.
func (s *Server) HTTPServer(addr string) *http.Server {
	server := &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// WriteTimeout is set per request (SSE streams must outlive it).
	}
	server.RegisterOnShutdown(s.CloseStreams)
	return server
}

type requestIDKey struct{}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}

// withRequestID tags each request with an id for logs and problem answers,
// and bounds the time a normal answer may take.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		if r.URL.Path != "/v1/subscribe" {
			_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(writeTimeout))
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
		s.metrics.observeRequest(r.Method, rec.status, time.Since(start))
		slog.Debug("request", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "duration", time.Since(start))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach flushing and deadlines.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
