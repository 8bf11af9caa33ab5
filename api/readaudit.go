package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hrss-ledger/ledger/domain"
)

// auditedReads are the endpoints whose every read is recorded in the log
// before it is answered (who looked at whose payment history), by mux
// pattern, with what names the subject of the read. The raw log is audited
// per page instead (auditPage).
var auditedReads = map[string]func(*http.Request) string{
	"GET /v1/history": func(r *http.Request) string { return readSubject(r.URL.Query().Get("account")) },
}

// pseudonymPattern is what a beneficiary id looks like (vault.Pseudonym).
var pseudonymPattern = regexp.MustCompile(`^[0-9a-f]{16,64}$`)

// readSubject is the account a history read names, as the log may keep
// it: the log is immutable, so a beneficiary "id" that is not a pseudonym
// (an ID number typed by mistake, a name) is not written into it.
func readSubject(account string) string {
	kind, id, _ := strings.Cut(account, ":")
	if kind == "beneficiary" && !pseudonymPattern.MatchString(id) {
		return "beneficiary:(not a beneficiary id; withheld)"
	}
	return account
}

// readQuery keeps of a query string only the parameters whose values are
// dates, positions or counts, for the same reason.
func readQuery(r *http.Request) string {
	kept := url.Values{}
	for name, values := range r.URL.Query() {
		for _, v := range values {
			if name != "account" && safeParamPattern.MatchString(v) {
				kept.Add(name, v)
			}
		}
	}
	return kept.Encode()
}

var safeParamPattern = regexp.MustCompile(`^[0-9-]{1,20}$`)

// auditRead records an audited read before it is answered: a read that
// cannot be recorded is not answered (503), so no read goes unrecorded.
func (s *Server) auditRead(w http.ResponseWriter, r *http.Request) bool {
	subject, audited := auditedReads[r.Pattern]
	if !audited {
		return true
	}
	return s.recordRead(w, r, subject(r))
}

// auditPage records a page of the raw log read by an auditor, before it is
// answered. A page that holds nothing but audited reads (or nothing) is
// not recorded: otherwise each read of the log's tail would append the
// event that the next read finds, and a client paging to the end of the
// log would never reach it.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, page []eventBody) bool {
	for _, e := range page {
		if e.Type != domain.TypeReadAudited {
			subject := "positions " + strconv.FormatUint(page[0].Position, 10) + ".." + strconv.FormatUint(page[len(page)-1].Position, 10)
			return s.recordRead(w, r, subject)
		}
	}
	return true
}

// recordRead appends a read.audited.v1 event through the writer. A server
// built without a command sink (documentation, tests of the routes)
// records nothing.
func (s *Server) recordRead(w http.ResponseWriter, r *http.Request, subject string) bool {
	if s.commands == nil {
		return true
	}
	p := principalOf(r.Context())
	cmd := domain.RecordRead{Reader: p.Name, Role: string(p.Role), Path: r.URL.Path, Query: readQuery(r),
		Subject: subject, Time: time.Now().UTC()}
	id := newID()
	digest := sha256.Sum256([]byte("read " + id))
	_, err := s.commands.Execute(r.Context(), CommandRequest{Command: cmd, CommandID: "read/" + id,
		Fingerprint: hex.EncodeToString(digest[:]), Actor: p.Name, CorrelationID: requestID(r)})
	if err != nil {
		writeProblem(w, r, err)
		return false
	}
	return true
}
