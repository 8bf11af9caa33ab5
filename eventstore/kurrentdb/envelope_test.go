package kurrentdb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/eventstore"
)

// stampedEvent is an event as a draft leaves it: every envelope field set.
func stampedEvent(t *testing.T, position eventstore.Position, data string) eventstore.Event {
	t.Helper()
	e := eventstore.Event{
		Position: position,
		ID:       uuid.Must(uuid.NewV7()),
		Stream:   "loan-L2017-0001",
		Version:  3,
		Type:     "loan.issued.v1",
		Data:     []byte(data),
		Meta: eventstore.Meta{
			BusinessDate:  "2017-03-01",
			Recorded:      time.Date(2026, 11, 22, 11, 3, 38, 123456789, time.UTC),
			Actor:         "clerk-7 <desk 3>",
			CommandID:     "cmd-42",
			Fingerprint:   "sha256:ab12",
			CorrelationID: "case-9",
		},
	}
	e.Hash = eventstore.ChainHash([32]byte{1}, e)
	return e
}

// recorded is what the server hands back for appended event data.
func recorded(d esdb.EventData, revision uint64) *esdb.RecordedEvent {
	return &esdb.RecordedEvent{
		EventID: d.EventID, EventType: d.EventType, StreamID: DefaultStream, EventNumber: revision,
		Data: d.Data, UserMetadata: d.Metadata, CreatedDate: time.Now(),
	}
}

func TestEnvelopeSurvivesTheRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		data string
		want esdb.ContentType
	}{
		{"a JSON body is stored as JSON", `{"principal":"100000.00"}`, esdb.ContentTypeJson},
		{"a body that is not JSON is stored as bytes", "\x00\x01not json", esdb.ContentTypeBinary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := stampedEvent(t, 7, tt.data)
			d, err := toEventData(e)
			if err != nil {
				t.Fatalf("toEventData: %v", err)
			}
			if d.ContentType != tt.want || d.EventID != e.ID || d.EventType != e.Type || !bytes.Equal(d.Data, e.Data) {
				t.Errorf("event data %+v does not carry the event's id, type, body as %v", d, tt.want)
			}
			got, err := fromRecorded(recorded(d, revisionOf(e.Position)))
			if err != nil {
				t.Fatalf("fromRecorded: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(e) {
				t.Errorf("round trip gave\n%+v\nwant\n%+v", got, e)
			}
			if eventstore.ChainHash([32]byte{1}, got) != e.Hash {
				t.Errorf("the event read back does not hash to the hash it carries")
			}
		})
	}
}

func TestMetadataIsReadableJSON(t *testing.T) {
	d, err := toEventData(stampedEvent(t, 7, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(d.Metadata, &fields); err != nil {
		t.Fatalf("metadata is not JSON: %v", err)
	}
	want := map[string]any{"schema": 1.0, "position": 7.0, "stream": "loan-L2017-0001", "version": 3.0,
		"businessDate": "2017-03-01", "recorded": "2026-11-22T11:03:38.123456789Z", "actor": "clerk-7 <desk 3>",
		"commandId": "cmd-42", "fingerprint": "sha256:ab12", "correlationId": "case-9"}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("metadata %s = %v, want %v", k, fields[k], v)
		}
	}
	if h, _ := fields["hash"].(string); len(h) != 64 {
		t.Errorf("metadata hash %q, want 64 hex digits", h)
	}
}

func TestFromRecordedRefusesAlteredEvents(t *testing.T) {
	good, err := toEventData(stampedEvent(t, 7, `{}`))
	if err != nil {
		t.Fatal(err)
	}
	withMeta := func(edit func(map[string]any)) esdb.EventData {
		var fields map[string]any
		json.Unmarshal(good.Metadata, &fields)
		edit(fields)
		d := good
		d.Metadata, _ = json.Marshal(fields)
		return d
	}
	tests := []struct {
		name     string
		data     esdb.EventData
		revision uint64
	}{
		{"an event moved to another revision", good, 9},
		{"metadata of an unknown schema", withMeta(func(m map[string]any) { m["schema"] = 2 }), 6},
		{"a hash that is not 32 bytes", withMeta(func(m map[string]any) { m["hash"] = "abcd" }), 6},
		{"metadata that is not JSON", func() esdb.EventData { d := good; d.Metadata = []byte("{"); return d }(), 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := fromRecorded(recorded(tt.data, tt.revision)); !errors.Is(err, eventstore.ErrCorrupt) {
				t.Errorf("fromRecorded: error %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestPositionEncoding(t *testing.T) {
	tests := []struct {
		name     string
		position eventstore.Position
		revision uint64
	}{
		{"the first event is revision 0", 1, 0},
		{"the second event is revision 1", 2, 1},
		{"a large position keeps its distance", 1 << 40, 1<<40 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := revisionOf(tt.position); got != tt.revision {
				t.Errorf("revisionOf(%d) = %d, want %d", tt.position, got, tt.revision)
			}
			if got := positionOf(tt.revision); got != tt.position {
				t.Errorf("positionOf(%d) = %d, want %d", tt.revision, got, tt.position)
			}
		})
	}
}

func TestPositionsBecomeStreamPositions(t *testing.T) {
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"an empty log is expected not to exist", expectedRevision(0), esdb.NoStream{}},
		{"a log at head 5 is expected at revision 4", expectedRevision(5), esdb.Revision(4)},
		{"reading after 0 starts at revision 0", readFrom(0), esdb.Revision(0)},
		{"reading after 5 starts at revision 5", readFrom(5), esdb.Revision(5)},
		{"subscribing after 0 starts at the start", subscribeFrom(0), esdb.Start{}},
		{"subscribing after 5 starts after revision 4", subscribeFrom(5), esdb.Revision(4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
}

func TestRevisionOfPositionZeroPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("revisionOf(0) did not panic")
		}
	}()
	revisionOf(0)
}
