package domain

import "time"

// Reads of personal payment data are facts too: who looked at whose payment
// history, and who paged through the raw log, is recorded in the log in a
// stream of its own. Such an event moves no money and changes no state.

// TypeReadAudited is the wire name of ReadAudited.
const TypeReadAudited = "read.audited.v1"

// ReadAuditStream is the stream of every audited read.
const ReadAuditStream = "audit-reads"

// Limits of an audited read.
const (
	maxReadPathBytes  = 200
	maxReadQueryBytes = 2048 // a longer query string is refused, not truncated
	maxRoleBytes      = 32
)

// RecordRead records that Reader, acting in Role, read Path?Query at Time;
// Subject is the account whose history was read ("" for the raw log).
type RecordRead struct {
	Reader  string    `json:"reader"`
	Role    string    `json:"role"`
	Path    string    `json:"path"`
	Query   string    `json:"query,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Time    time.Time `json:"time"`
}

// ReadAudited: Reader, acting in Role, read Path?Query at Time.
type ReadAudited struct {
	Reader  string    `json:"reader"`
	Role    string    `json:"role"`
	Path    string    `json:"path"`
	Query   string    `json:"query,omitempty"`
	Subject string    `json:"subject,omitempty"`
	Time    time.Time `json:"time"`
}

func (RecordRead) isCommand() {}

func (ReadAudited) isEvent() {}

// EventType returns the wire name.
func (ReadAudited) EventType() string { return TypeReadAudited }

// StreamID returns the stream of audited reads.
func (ReadAudited) StreamID() string { return ReadAuditStream }

// BusinessDate is the zero Date: a read is not a business fact, so it dates
// no view (the envelope records when it happened, and so does Time).
func (ReadAudited) BusinessDate() Date { return Date{} }

func (l *Ledger) decideRecordRead(c RecordRead) (ReadAudited, *Error) {
	if c.Time.IsZero() {
		return ReadAudited{}, fail(ErrRequired, "time", "")
	}
	err := first(text("reader", c.Reader, maxActorBytes), text("role", c.Role, maxRoleBytes),
		text("path", c.Path, maxReadPathBytes), optionalText("query", c.Query, maxReadQueryBytes),
		optionalText("subject", c.Subject, maxReadQueryBytes))
	if err != nil {
		return ReadAudited{}, err
	}
	return ReadAudited(c), nil
}
