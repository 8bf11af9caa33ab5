package kurrentdb_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/kurrentdb"
)

// serverURL is the KurrentDB server the suite runs against, or the test is
// skipped: no server can be installed on our machines (no Docker, no binary
// downloads). `make test-kurrentdb` runs it when KURRENTDB_URL is set.
func serverURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("KURRENTDB_URL")
	if url == "" {
		t.Skip("KURRENTDB_URL is not set: skipping the tests that need a KurrentDB server " +
			"(e.g. KURRENTDB_URL='esdb://127.0.0.1:2113?tls=false' make test-kurrentdb)")
	}
	return url
}

// harness gives each test its own log stream on the one server.
type harness struct{ url string }

func (h harness) open(t *testing.T, stream string) (*kurrentdb.Store, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := kurrentdb.Open(ctx, kurrentdb.Config{URL: h.url, Stream: stream})
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

func (h harness) Open(t *testing.T) eventstore.Store {
	s, err := h.open(t, "ledger-test-"+uuid.NewString())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func (h harness) Reopen(t *testing.T, closed eventstore.Store) (eventstore.Store, error) {
	s, err := h.open(t, closed.(*kurrentdb.Store).Stream())
	if err != nil {
		return nil, err
	}
	return s, nil
}

func TestConformance(t *testing.T) {
	eventstore.RunConformance(t, harness{url: serverURL(t)})
}

// adminClient reaches the server behind the store's back, as an operator would.
func adminClient(t *testing.T, url string) *esdb.Client {
	t.Helper()
	conf, err := esdb.ParseConnectionString(url)
	if err != nil {
		t.Fatal(err)
	}
	client, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

func commit(id, stream string) eventstore.Commit {
	return eventstore.Commit{CommandID: id, Fingerprint: "fp-" + id, Events: []eventstore.Event{
		{Stream: stream, Type: "test.happened.v1", Data: []byte(`{}`), Meta: eventstore.Meta{BusinessDate: "2017-03-01"}},
	}}
}

func TestOpenRefusesALogThatCanLoseEvents(t *testing.T) {
	h := harness{url: serverURL(t)}
	admin := adminClient(t, h.url)
	tamper := []struct {
		name string
		do   func(ctx context.Context, stream string) error
	}{
		{"a maximum count set on the log", func(ctx context.Context, stream string) error {
			var meta esdb.StreamMetadata
			meta.SetMaxCount(1)
			_, err := admin.SetStreamMetadata(ctx, stream, esdb.AppendToStreamOptions{}, meta)
			return err
		}},
		{"a soft-deleted log", func(ctx context.Context, stream string) error {
			_, err := admin.DeleteStream(ctx, stream, esdb.DeleteStreamOptions{})
			return err
		}},
		{"a tombstoned log", func(ctx context.Context, stream string) error {
			_, err := admin.TombstoneStream(ctx, stream, esdb.TombstoneStreamOptions{})
			return err
		}},
	}
	for _, tt := range tamper {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s := h.Open(t).(*kurrentdb.Store)
			if _, err := s.Append(ctx, commit("c", "fund-1")); err != nil {
				t.Fatalf("Append: %v", err)
			}
			s.Close()
			if err := tt.do(ctx, s.Stream()); err != nil {
				t.Fatalf("tampering: %v", err)
			}
			if _, err := h.open(t, s.Stream()); !errors.Is(err, eventstore.ErrUnsafeStream) {
				t.Errorf("Open after tampering: %v, want ErrUnsafeStream", err)
			}
		})
	}
}

func TestASecondWriterIsFencedAndCatchesUp(t *testing.T) {
	h := harness{url: serverURL(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first := h.Open(t).(*kurrentdb.Store)
	second, err := h.open(t, first.Stream())
	if err != nil {
		t.Fatalf("Open the second writer: %v", err)
	}
	if _, err := first.AppendBatch(ctx, 0, []eventstore.Commit{commit("a", "fund-1")}); err != nil {
		t.Fatalf("first AppendBatch: %v", err)
	}
	if _, err := second.AppendBatch(ctx, 0, []eventstore.Commit{commit("b", "fund-2")}); !errors.Is(err, eventstore.ErrConflict) {
		t.Fatalf("second AppendBatch at a stale head: %v, want ErrConflict", err)
	}
	next := commit("c", "fund-1")
	next.Expect = []eventstore.Expectation{{Stream: "fund-1", Version: 1}}
	r, err := second.Append(ctx, next)
	if err != nil || r != (eventstore.Result{First: 2, Last: 2}) {
		t.Fatalf("second Append after catching up = %+v, %v; want position 2", r, err)
	}
	again, err := first.Append(ctx, commit("a", "fund-1"))
	if err != nil || !again.Duplicate {
		t.Errorf("first writer retrying its own command = %+v, %v; want a duplicate", again, err)
	}
	if events, err := first.ReadStream(ctx, "fund-1"); err != nil || len(events) != 2 {
		t.Errorf("ReadStream on the first writer = %d events, %v; want both writers' 2", len(events), err)
	}
}
