package api

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

// TestPagingTheLogIsAuditedAndEnds pages through the raw log as an auditor
// does, to the end: each page that shows business events is recorded as a
// read, and paging still reaches an empty page.
func TestPagingTheLogIsAuditedAndEnds(t *testing.T) {
	f := newCommandFixture(t, Config{})
	f.seed()
	business := len(f.events())
	after, pages, nonEmpty := 0.0, 0, 0
	for ; pages < 100; pages++ {
		page := f.must(200, "GET", fmt.Sprintf("/v1/events?after=%d&limit=2", int(after)), "tok-zhao", nil)
		events, _ := page.body["events"].([]any)
		if len(events) == 0 {
			break
		}
		nonEmpty++
		after = page.body["next_after"].(float64)
	}
	var reads []domain.ReadAudited
	for _, e := range f.events() {
		if e.Type != domain.TypeReadAudited {
			continue
		}
		var r domain.ReadAudited
		if err := json.Unmarshal(e.Data, &r); err != nil {
			t.Fatal(err)
		}
		if e.Meta.Actor != "auditor-zhao" || e.Stream != domain.ReadAuditStream {
			t.Errorf("read event by %s in stream %s", e.Meta.Actor, e.Stream)
		}
		reads = append(reads, r)
	}
	t.Run("paging reaches an empty page", func(t *testing.T) {
		if pages >= 100 {
			t.Fatalf("still paging after %d pages", pages)
		}
	})
	t.Run("each page of business events is recorded once, naming reader, role and positions", func(t *testing.T) {
		wantReads := (business + 1) / 2
		if len(reads) != wantReads {
			t.Fatalf("%d reads recorded for %d business events in pages of 2, want %d", len(reads), business, wantReads)
		}
		if r := reads[0]; r.Reader != "auditor-zhao" || r.Role != "auditor" || r.Subject != "positions 1..2" || r.Path != "/v1/events" {
			t.Errorf("first read: %+v", r)
		}
	})
	t.Run("pages holding only recorded reads are not recorded again", func(t *testing.T) {
		if nonEmpty <= len(reads) {
			t.Errorf("%d non-empty pages and %d reads: the tail of recorded reads was itself recorded", nonEmpty, len(reads))
		}
	})
}
