package domain

import "time"

// A checkpoint is the deployment's signed statement of the log's Merkle root
// at a size, recorded in the log itself at each day or period close so that
// an auditor finds every one in the history (eventstore/audit signs and
// checks them; the domain only keeps their order honest). Its JSON is
// exactly audit.CheckpointBody, which audit.VerifyLog parses.

// Period is the span of business days a checkpoint closes.
type Period string

// The periods a checkpoint closes.
const (
	PeriodDay     Period = "day"
	PeriodMonth   Period = "month"
	PeriodQuarter Period = "quarter"
	PeriodYear    Period = "year"
)

// Periods lists every period, shortest first.
var Periods = []Period{PeriodDay, PeriodMonth, PeriodQuarter, PeriodYear}

// TypeCheckpointRecorded is the wire name of CheckpointRecorded; it equals
// audit.CheckpointEventType.
const TypeCheckpointRecorded = "audit.checkpoint.v1"

// CheckpointStream is the stream of every checkpoint; it equals audit.CheckpointStream.
const CheckpointStream = "audit-checkpoints"

// Limits of a checkpoint's fields.
const (
	rootHashHexDigits = 64  // a SHA-256 root in lowercase hex
	maxKeyIDBytes     = 64  // audit.KeyID is 16 hex digits; room for another scheme
	maxSignatureBytes = 256 // an Ed25519 signature is 64 bytes; room for another scheme
)

// Rules of checkpoints.
var (
	// ErrHashFormat: a root hash that is not 64 lowercase hex digits.
	ErrHashFormat = newRule(Invalid, "is not a SHA-256 hash in lowercase hex")
	// ErrPeriodEnd: the date is not the last day of the period it closes.
	ErrPeriodEnd = newRule(Invalid, "is not the last day of the period")
	// ErrCheckpointBehind: the checkpoint covers fewer events than the last
	// one recorded: the log only grows, so its checkpoints do too.
	ErrCheckpointBehind = newRule(Conflict, "is below the last checkpoint's log size")
	// ErrCheckpointFork: a checkpoint of the same size as the last one with
	// another root: one log cannot have two roots at one size.
	ErrCheckpointFork = newRule(Conflict, "differs from the root already signed at this log size")
)

// RecordCheckpoint records a signed checkpoint at the close of Date's Period.
// The server signs it (the domain has no keys); LogSize is the number of
// events the signed root covers, all of them before the checkpoint's own event.
type RecordCheckpoint struct {
	LogSize   uint64    `json:"log_size"`
	RootHash  string    `json:"root_hash"` // lowercase hex
	Time      time.Time `json:"time"`      // when it was signed
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"` // base64 in JSON
	Period    Period    `json:"period"`
	Date      Date      `json:"date"` // the last business date the period covers
}

// CheckpointRecorded: the deployment signed the root of the first LogSize
// events at the close of a period. Its fields and their JSON are those of
// audit.CheckpointBody, in the same order, so both encode it identically.
type CheckpointRecorded struct {
	LogSize   uint64    `json:"log_size"`
	RootHash  string    `json:"root_hash"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"`
	Period    Period    `json:"period"`
	Date      Date      `json:"date"`
}

func (RecordCheckpoint) isCommand() {}

func (CheckpointRecorded) isEvent() {}

// EventType returns the wire name.
func (CheckpointRecorded) EventType() string { return TypeCheckpointRecorded }

// StreamID returns the checkpoint stream.
func (CheckpointRecorded) StreamID() string { return CheckpointStream }

// BusinessDate returns the last business date the checkpoint's period covers.
func (e CheckpointRecorded) BusinessDate() Date { return e.Date }

// PeriodClosedBy returns the longest period whose last day is d: a checkpoint
// on 31 December closes the year, on 30 June the quarter, and so on.
func PeriodClosedBy(d Date) Period {
	for i := len(Periods) - 1; i > 0; i-- {
		if closes(Periods[i], d) {
			return Periods[i]
		}
	}
	return PeriodDay
}

// closes reports whether d is the last day of a period of the given kind.
func closes(p Period, d Date) bool {
	lastOfMonth := d.Day() == daysIn(d.Year(), d.Month())
	switch p {
	case PeriodDay:
		return true
	case PeriodMonth:
		return lastOfMonth
	case PeriodQuarter:
		return lastOfMonth && d.Month()%3 == 0
	case PeriodYear:
		return d.Month() == 12 && d.Day() == 31
	}
	return false
}

func (l *Ledger) decideRecordCheckpoint(c RecordCheckpoint) (CheckpointRecorded, *Error) {
	if err := first(checkpointShape(c), checkpointPeriod(c.Period, c.Date)); err != nil {
		return CheckpointRecorded{}, err
	}
	if last, ok := l.checkpoint.get(struct{}{}); ok {
		if c.LogSize < last.LogSize {
			return CheckpointRecorded{}, fail(ErrCheckpointBehind, "log_size", "%d, last %d", c.LogSize, last.LogSize)
		}
		if c.LogSize == last.LogSize && c.RootHash != last.RootHash {
			return CheckpointRecorded{}, fail(ErrCheckpointFork, "root_hash", "size %d signed with root %s", last.LogSize, last.RootHash)
		}
	}
	return CheckpointRecorded(c), nil
}

func checkpointShape(c RecordCheckpoint) *Error {
	if c.LogSize == 0 {
		return fail(ErrRequired, "log_size", "a checkpoint covers at least one event")
	}
	if len(c.Signature) == 0 {
		return fail(ErrRequired, "signature", "")
	}
	if len(c.Signature) > maxSignatureBytes {
		return fail(ErrTooLong, "signature", "at most %d bytes", maxSignatureBytes)
	}
	if c.Time.IsZero() {
		return fail(ErrRequired, "time", "")
	}
	return first(rootHash(c.RootHash), text("key_id", c.KeyID, maxKeyIDBytes))
}

func rootHash(s string) *Error {
	if s == "" {
		return fail(ErrRequired, "root_hash", "")
	}
	if len(s) != rootHashHexDigits {
		return fail(ErrHashFormat, "root_hash", "%d characters, want %d", len(s), rootHashHexDigits)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fail(ErrHashFormat, "root_hash", "character %q at %d", c, i)
		}
	}
	return nil
}

func checkpointPeriod(p Period, d Date) *Error {
	if err := date("date", d); err != nil {
		return err
	}
	switch p {
	case PeriodDay, PeriodMonth, PeriodQuarter, PeriodYear:
	case "":
		return fail(ErrRequired, "period", "")
	default:
		return fail(ErrUnknownValue, "period", "%q: one of day, month, quarter, year", p)
	}
	if !closes(p, d) {
		return fail(ErrPeriodEnd, "date", "%s does not close a %s", d, p)
	}
	return nil
}

func (l *Ledger) evolveCheckpoint(e CheckpointRecorded) {
	last, ok := l.checkpoint.get(struct{}{})
	assert(!ok || e.LogSize >= last.LogSize, "checkpoint of size %d after one of size %d", e.LogSize, last.LogSize)
	l.checkpoint.set(struct{}{}, e)
}
