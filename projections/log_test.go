package projections

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

// logBuilder writes a log the way the ledger does: one commit per command.
// Events either come from the domain (command: Decide, Evolve) or are given
// directly (events), for histories the domain's rules would make long to set up.
type logBuilder struct {
	tb     testing.TB
	store  *memory.Store
	ledger *domain.Ledger
	seq    int
}

func newLogBuilder(tb testing.TB) *logBuilder {
	return &logBuilder{tb: tb, store: memory.New(), ledger: domain.NewLedger()}
}

// commit wraps events in an envelope and appends them as one commit.
func commit(seq int, evs ...domain.Event) eventstore.Commit {
	c := eventstore.Commit{CommandID: "cmd-" + strconv.Itoa(seq), Fingerprint: "fp"}
	for _, e := range evs {
		typ, data, err := domain.Encode(e)
		if err != nil {
			panic(err)
		}
		c.Events = append(c.Events, eventstore.Event{ID: uuid.Must(uuid.NewV7()), Stream: e.StreamID(), Type: typ, Data: data,
			Meta: eventstore.Meta{BusinessDate: e.BusinessDate().String(), Actor: "test", CommandID: c.CommandID}})
	}
	return c
}

// events appends events as one commit, bypassing the domain's rules.
func (b *logBuilder) events(evs ...domain.Event) {
	b.tb.Helper()
	b.seq++
	if _, err := b.store.Append(context.Background(), commit(b.seq, evs...)); err != nil {
		b.tb.Fatalf("append: %v", err)
	}
}

// command decides a command against the ledger and appends its events.
func (b *logBuilder) command(cmd domain.Command) []domain.Event {
	b.tb.Helper()
	evs, err := b.ledger.Decide(cmd)
	if err != nil {
		b.tb.Fatalf("decide %T: %v", cmd, err)
	}
	for _, e := range evs {
		b.ledger.Evolve(e)
	}
	b.events(evs...)
	return evs
}

// project builds views from the whole log.
func project(tb testing.TB, r Reader) *Projector {
	tb.Helper()
	p, err := New(Config{})
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.CatchUp(context.Background(), r); err != nil {
		tb.Fatalf("catch up: %v", err)
	}
	return p
}

func money(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func date(s string) domain.Date { return domain.MustDate(s) }

// idNumber returns a valid resident ID number (GB 11643 checksum) for n.
func idNumber(n int) string {
	birth := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n/1000)
	body := fmt.Sprintf("610902%s%03d", birth.Format("20060102"), n%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}
