package projections

import (
	"strconv"
	"strings"
)

// The views a change can be published for (the <view> of ledger.views.<view>.<key>).
const (
	viewProgress  = "progress"
	viewPortfolio = "portfolio"
	viewFunds     = "funds"
	viewLoans     = "loans"
)

// SubjectPrefix begins every NATS subject the projections publish on.
const SubjectPrefix = "ledger.views."

// Publisher sends a view's new value to dashboards (e.g. NATS core publish on
// ledger.views.<view>.<key>). The projections declare it so that they do not
// depend on a NATS client; natspub adapts nats.go.
type Publisher interface {
	Publish(subject string, data []byte) error
}

// LatestStore keeps the latest value of every view for late joiners (e.g. a
// NATS KV bucket), under keys like progress.610900.2017 or funds.F1.
type LatestStore interface {
	Put(key string, value []byte) error
}

// Change is one view's new value.
type Change struct {
	View     string // progress, portfolio, funds or loans
	Key      string // region code (progress, portfolio), fund id or loan id
	Region   string // the region the view belongs to, for filtering
	Year     int    // the year of a progress view; 0 otherwise
	Position uint64 // the log position the value reflects
	Data     []byte // the view's JSON, as the query endpoints answer it
}

// Subject is the NATS subject the change is published on.
func (c Change) Subject() string { return SubjectPrefix + c.View + "." + subjectToken(c.Key) }

// LatestKey is the change's key in the LatestStore.
func (c Change) LatestKey() string {
	k := c.View + "." + subjectToken(c.Key)
	if c.Year != 0 {
		k += "." + strconv.Itoa(c.Year)
	}
	return k
}

// subjectToken makes an id usable as one NATS subject token and KV key part:
// only letters, digits, '-' and '_' pass; anything else becomes '_'.
func subjectToken(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// changeKey identifies a view value that changed.
type changeKey struct {
	View string
	Key  string
	Year int
}

// dirty collects the view values changed since the last publication. A nil
// *dirty ignores marks: a rebuild with nobody listening pays nothing.
type dirty struct {
	keys map[changeKey]struct{}
}

func newDirty() *dirty { return &dirty{keys: map[changeKey]struct{}{}} }

func (d *dirty) mark(view, key string, year int) {
	if d != nil { // small enough to inline: a rebuild calls it millions of times for nobody
		d.add(view, key, year)
	}
}

func (d *dirty) add(view, key string, year int) {
	d.keys[changeKey{View: view, Key: key, Year: year}] = struct{}{}
}
