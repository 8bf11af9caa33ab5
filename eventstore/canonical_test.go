package eventstore_test

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/eventstore"
)

func sampleEvent() eventstore.Event {
	return eventstore.Event{
		Position: 7,
		ID:       uuid.MustParse("01890a5d-ac96-774b-bcce-b302099a8057"),
		Stream:   "loan-L2017-0001",
		Version:  2,
		Type:     "loan.repaid.v1",
		Data:     []byte(`{"amount":"1000.00"}`),
		Meta: eventstore.Meta{
			BusinessDate:  "2017-03-01",
			Recorded:      time.Date(2017, 3, 2, 8, 30, 0, 123456789, time.UTC),
			Actor:         "clerk-1",
			CommandID:     "cmd-1",
			Fingerprint:   "fp-1",
			CorrelationID: "case-9",
		},
	}
}

func TestCanonicalIsStable(t *testing.T) {
	// The golden hash was computed independently (Python, from the layout in
	// the doc comment) and pins the documented layout: if it changes, every
	// recorded chain breaks, so a change here must be a new encoding version.
	got := eventstore.ChainHash([32]byte{}, sampleEvent())
	const want = "8121cc1b59268d74e6751502f13195fe3ac3f9a6156caf07215fe0d04024f7ca"
	if hex.EncodeToString(got[:]) != want {
		t.Errorf("ChainHash = %x, want %s", got, want)
	}
}

func TestCanonicalDistinguishesEvents(t *testing.T) {
	base := sampleEvent()
	tests := []struct {
		name   string
		change func(e *eventstore.Event)
	}{
		{"moving a byte from stream to type changes the encoding", func(e *eventstore.Event) {
			e.Stream, e.Type = "loan-L2017-000", "1loan.repaid.v1"
		}},
		{"a different position changes the encoding", func(e *eventstore.Event) { e.Position++ }},
		{"a different version changes the encoding", func(e *eventstore.Event) { e.Version++ }},
		{"a different id changes the encoding", func(e *eventstore.Event) { e.ID[15]++ }},
		{"a different recorded time changes the encoding", func(e *eventstore.Event) {
			e.Meta.Recorded = e.Meta.Recorded.Add(time.Nanosecond)
		}},
		{"moving a byte from actor to command id changes the encoding", func(e *eventstore.Event) {
			e.Meta.Actor, e.Meta.CommandID = "clerk-", "1cmd-1"
		}},
		{"moving a byte from fingerprint to correlation id changes the encoding", func(e *eventstore.Event) {
			e.Meta.Fingerprint, e.Meta.CorrelationID = "fp-", "1case-9"
		}},
		{"a different correlation id changes the encoding", func(e *eventstore.Event) { e.Meta.CorrelationID = "" }},
		{"different data changes the encoding", func(e *eventstore.Event) { e.Data = []byte(`{}`) }},
		{"a different business date changes the encoding", func(e *eventstore.Event) { e.Meta.BusinessDate = "2017-03-02" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			changed := sampleEvent()
			tt.change(&changed)
			if bytes.Equal(eventstore.Canonical(changed), eventstore.Canonical(base)) {
				t.Errorf("Canonical did not change")
			}
		})
	}
}

func TestCanonicalIgnoresHashAndTimeZone(t *testing.T) {
	e := sampleEvent()
	other := sampleEvent()
	other.Hash[0] = 1
	other.Meta.Recorded = other.Meta.Recorded.In(time.FixedZone("UTC+8", 8*3600))
	if !bytes.Equal(eventstore.Canonical(other), eventstore.Canonical(e)) {
		t.Errorf("Canonical depends on Hash or on the time zone of Recorded")
	}
}

func TestChainHashDependsOnPrevious(t *testing.T) {
	e := sampleEvent()
	first := eventstore.ChainHash([32]byte{}, e)
	second := eventstore.ChainHash(first, e)
	if first == second {
		t.Errorf("ChainHash ignored the previous hash")
	}
}

// TestAppendCanonicalReusesItsBuffer checks that encoding into a reused
// buffer gives exactly Canonical, whatever the buffer held before.
func TestAppendCanonicalReusesItsBuffer(t *testing.T) {
	long, short := sampleEvent(), sampleEvent()
	long.Data = bytes.Repeat([]byte("x"), 4096)
	short.Data = []byte(`{}`)
	var buf []byte
	for _, e := range []eventstore.Event{long, short, long} {
		buf = eventstore.AppendCanonical(buf[:0], e)
		if want := eventstore.Canonical(e); !bytes.Equal(buf, want) {
			t.Fatalf("got %d bytes, want Canonical's %d", len(buf), len(want))
		}
	}
	prefix := []byte("kept")
	if got := eventstore.AppendCanonical(prefix, short); !bytes.HasPrefix(got, []byte("kept")) ||
		!bytes.Equal(got[4:], eventstore.Canonical(short)) {
		t.Fatal("AppendCanonical did not append after what b held")
	}
}
