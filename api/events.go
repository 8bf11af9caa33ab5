package api

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/hrss-ledger/ledger/eventstore"
)

// Paging limits of the raw log endpoint.
const (
	defaultEventsPage = 100
	maxEventsPage     = 1000
)

// eventBody is one envelope of the raw log as auditors read it.
type eventBody struct {
	Position uint64          `json:"position"`
	EventID  string          `json:"event_id"`
	Stream   string          `json:"stream"`
	Version  uint64          `json:"version"`
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data"`
	Metadata metadataBody    `json:"metadata"`
	Hash     string          `json:"hash"`
}

type metadataBody struct {
	BusinessDate  string `json:"business_date"`
	Recorded      string `json:"recorded"`
	Actor         string `json:"actor"`
	CommandID     string `json:"command_id"`
	CorrelationID string `json:"correlation_id,omitempty"`
	Fingerprint   string `json:"fingerprint,omitempty"`
}

func envelopeBody(e eventstore.Event) eventBody {
	return eventBody{
		Position: e.Position, EventID: e.ID.String(), Stream: e.Stream, Version: e.Version,
		Type: e.Type, Data: json.RawMessage(e.Data), Hash: hex.EncodeToString(e.Hash[:]),
		Metadata: metadataBody{
			BusinessDate: e.Meta.BusinessDate, Recorded: e.Meta.Recorded.UTC().Format("2006-01-02T15:04:05.000000000Z07:00"),
			Actor: e.Meta.Actor, CommandID: e.Meta.CommandID, CorrelationID: e.Meta.CorrelationID,
			Fingerprint: e.Meta.Fingerprint,
		},
	}
}

var errPageFull = errors.New("page full")

// events pages through the raw log: GET /v1/events?after=POSITION&limit=N.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	after, limit, err := pageParams(r)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	page := make([]eventBody, 0, limit)
	err = s.log.Read(r.Context(), after, func(e eventstore.Event) error {
		page = append(page, envelopeBody(e))
		if len(page) >= limit {
			return errPageFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		writeProblem(w, r, err)
		return
	}
	if !s.auditPage(w, r, page) {
		return
	}
	next := after
	if len(page) > 0 {
		next = page[len(page)-1].Position
	}
	writeJSON(w, http.StatusOK, eventsPage{Events: page, NextAfter: next})
}

func pageParams(r *http.Request) (after uint64, limit int, err error) {
	q := r.URL.Query()
	if s := q.Get("after"); s != "" {
		if after, err = strconv.ParseUint(s, 10, 64); err != nil {
			return 0, 0, badRequest("after", "must be a log position (a whole number)")
		}
	}
	limit = defaultEventsPage
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > maxEventsPage {
			return 0, 0, badRequest("limit", "must be a whole number from 1 to "+strconv.Itoa(maxEventsPage))
		}
	}
	return after, limit, nil
}
