package domain_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

var testRoot = strings.Repeat("ab", 32)

// checkpointAt is a well-formed checkpoint command of the given size, closing a day.
func checkpointAt(size uint64, root, date string) domain.RecordCheckpoint {
	return domain.RecordCheckpoint{LogSize: size, RootHash: root, Time: time.Date(2017, 3, 2, 0, 0, 5, 0, time.UTC),
		KeyID: "0123456789abcdef", Signature: bytes.Repeat([]byte{7}, ed25519.SignatureSize),
		Period: domain.PeriodDay, Date: d(date)}
}

func TestCheckpointRules(t *testing.T) {
	first := checkpointAt(10, testRoot, "2017-03-01")
	with := func(change func(*domain.RecordCheckpoint)) domain.RecordCheckpoint {
		c := checkpointAt(20, strings.Repeat("cd", 32), "2017-03-02")
		change(&c)
		return c
	}
	runCases(t, []ruleCase{
		{name: "a checkpoint is recorded as it was signed", when: first,
			want: []domain.Event{domain.CheckpointRecorded(first)}},
		{name: "a later checkpoint may cover more events", given: []domain.Command{first}, when: with(func(*domain.RecordCheckpoint) {})},
		{name: "the same size may be signed again with the same root", given: []domain.Command{first}, when: checkpointAt(10, testRoot, "2017-03-02")},
		{name: "a checkpoint below the last one's size conflicts", given: []domain.Command{first},
			when: with(func(c *domain.RecordCheckpoint) { c.LogSize = 9 }), rule: domain.ErrCheckpointBehind, field: "log_size"},
		{name: "the same size with another root conflicts", given: []domain.Command{first},
			when: with(func(c *domain.RecordCheckpoint) { c.LogSize = 10 }), rule: domain.ErrCheckpointFork, field: "root_hash"},
		{name: "a checkpoint of no events is invalid", when: with(func(c *domain.RecordCheckpoint) { c.LogSize = 0 }), rule: domain.ErrRequired, field: "log_size"},
		{name: "an empty signature is invalid", when: with(func(c *domain.RecordCheckpoint) { c.Signature = nil }), rule: domain.ErrRequired, field: "signature"},
		{name: "an oversized signature is invalid", when: with(func(c *domain.RecordCheckpoint) { c.Signature = make([]byte, 257) }), rule: domain.ErrTooLong, field: "signature"},
		{name: "an empty root is invalid", when: with(func(c *domain.RecordCheckpoint) { c.RootHash = "" }), rule: domain.ErrRequired, field: "root_hash"},
		{name: "a short root is invalid", when: with(func(c *domain.RecordCheckpoint) { c.RootHash = "abcd" }), rule: domain.ErrHashFormat, field: "root_hash"},
		{name: "an uppercase root is invalid", when: with(func(c *domain.RecordCheckpoint) { c.RootHash = strings.Repeat("AB", 32) }), rule: domain.ErrHashFormat, field: "root_hash"},
		{name: "a checkpoint without a key id is invalid", when: with(func(c *domain.RecordCheckpoint) { c.KeyID = "" }), rule: domain.ErrRequired, field: "key_id"},
		{name: "a checkpoint without a signing time is invalid", when: with(func(c *domain.RecordCheckpoint) { c.Time = time.Time{} }), rule: domain.ErrRequired, field: "time"},
		{name: "a checkpoint without a date is invalid", when: with(func(c *domain.RecordCheckpoint) { c.Date = domain.Date{} }), rule: domain.ErrRequired, field: "date"},
		{name: "an unknown period is invalid", when: with(func(c *domain.RecordCheckpoint) { c.Period = "week" }), rule: domain.ErrUnknownValue, field: "period"},
		{name: "a checkpoint without a period is invalid", when: with(func(c *domain.RecordCheckpoint) { c.Period = "" }), rule: domain.ErrRequired, field: "period"},
		{name: "a month closes only on its last day", when: with(func(c *domain.RecordCheckpoint) { c.Period = domain.PeriodMonth }), rule: domain.ErrPeriodEnd, field: "date"},
		{name: "a month closes on 28 February", when: with(func(c *domain.RecordCheckpoint) { c.Period, c.Date = domain.PeriodMonth, d("2017-02-28") })},
		{name: "a quarter does not close at the end of May", when: with(func(c *domain.RecordCheckpoint) { c.Period, c.Date = domain.PeriodQuarter, d("2017-05-31") }),
			rule: domain.ErrPeriodEnd, field: "date"},
		{name: "a year closes on 31 December", when: with(func(c *domain.RecordCheckpoint) { c.Period, c.Date = domain.PeriodYear, d("2017-12-31") })},
	})
}

func TestPeriodClosedByIsTheLongestPeriodEndingThatDay(t *testing.T) {
	cases := []struct {
		date string
		want domain.Period
	}{
		{"2017-03-01", domain.PeriodDay},
		{"2017-02-28", domain.PeriodMonth},
		{"2016-02-28", domain.PeriodDay}, // a leap year: February ends on the 29th
		{"2016-02-29", domain.PeriodMonth},
		{"2017-06-30", domain.PeriodQuarter},
		{"2017-12-31", domain.PeriodYear},
	}
	for _, c := range cases {
		t.Run(c.date+" closes a "+string(c.want), func(t *testing.T) {
			if got := domain.PeriodClosedBy(d(c.date)); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestCheckpointEventsMoveNoMoney(t *testing.T) {
	if got := domain.Postings(domain.CheckpointRecorded(checkpointAt(1, testRoot, "2017-03-01"))); got != nil {
		t.Errorf("got postings %v, want none", got)
	}
}

// TestCheckpointEventIsWhatAuditWritesAndVerifies signs a real checkpoint of
// a real log and checks both directions of the wire: the event the audit
// package builds decodes in the domain and encodes back byte for byte, and
// the event the domain records is one audit.VerifyLog checks, signature and
// root alike.
func TestCheckpointEventIsWhatAuditWritesAndVerifies(t *testing.T) {
	ctx := context.Background()
	log := memory.New()
	defer log.Close()
	appendRegions(t, log, 5)
	_, signer, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := audit.Build(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	cp := audit.NewSigner(signer).Checkpoint(tree, time.Date(2017, 3, 2, 0, 0, 5, 0, time.UTC))
	written, err := audit.CheckpointEvent(cp, "day", "2017-03-01")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the audit package's event decodes and encodes back byte for byte", func(t *testing.T) {
		ev, err := domain.Decode(written.Type, written.Data)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		eventType, data, err := domain.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		if eventType != written.Type || ev.StreamID() != written.Stream || !bytes.Equal(data, written.Data) {
			t.Errorf("got %s %s %s, want %s %s %s", eventType, ev.StreamID(), data, written.Type, written.Stream, written.Data)
		}
	})

	t.Run("the domain's event is verified by audit.VerifyLog", func(t *testing.T) {
		events, err := domain.NewLedger().Decide(domain.RecordCheckpoint{LogSize: cp.LogSize, RootHash: cp.RootHash.String(),
			Time: cp.Time, KeyID: cp.KeyID, Signature: cp.Signature, Period: domain.PeriodDay, Date: d("2017-03-01")})
		if err != nil {
			t.Fatalf("Decide: %v", err)
		}
		appendEvent(t, log, events[0])
		report, _, err := audit.VerifyLog(ctx, log, audit.VerifyOptions{PublicKey: signer.Public().(ed25519.PublicKey)})
		if err != nil || report.Checkpoints != 1 {
			t.Errorf("got %+v, %v; want one checkpoint verified", report, err)
		}
	})
}

func appendRegions(t *testing.T, log eventstore.Store, n int) {
	t.Helper()
	for i := range n {
		appendEvent(t, log, domain.RegionDefined{Code: fmt.Sprintf("61%04d", i), Name: "区", Date: d("2017-03-01")})
	}
}

func appendEvent(t *testing.T, log eventstore.Store, e domain.Event) {
	t.Helper()
	eventType, data, err := domain.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	_, err = log.Append(context.Background(), eventstore.Commit{CommandID: id, Fingerprint: id, Events: []eventstore.Event{{
		ID: uuid.Must(uuid.NewV7()), Stream: e.StreamID(), Type: eventType, Data: data,
		Meta: eventstore.Meta{BusinessDate: e.BusinessDate().String(), CommandID: id},
	}}})
	if err != nil {
		t.Fatalf("append %s: %v", eventType, err)
	}
}
