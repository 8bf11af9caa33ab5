package jetstream

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hrss-ledger/ledger/eventstore"
)

// scanned is what Raw.Scan reported for one call.
type scanned struct {
	seq    uint64
	events []eventstore.Event
	err    error
}

func scanAll(t *testing.T, r *Raw) []scanned {
	t.Helper()
	var out []scanned
	if err := r.Scan(testContext(t), func(seq uint64, events []eventstore.Event, err error) error {
		out = append(out, scanned{seq, events, err})
		return nil
	}); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return out
}

func TestRawScanReadsTheStreamAsStored(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenEmbedded(testContext(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "raw", 5)
	want := readEvents(t, s)
	// A message published around the store: the store itself would refuse it.
	if _, err := s.legacy.Publish(DefaultSubject, []byte("not a batch")); err != nil {
		t.Fatal(err)
	}
	s.Close()

	r, err := OpenRaw(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := scanAll(t, r)
	if len(got) != 6 {
		t.Fatalf("got %d messages, want 6", len(got))
	}
	t.Run("every batch the store wrote comes back with its events, in stream order", func(t *testing.T) {
		var events []eventstore.Event
		for i, m := range got[:5] {
			if m.err != nil || m.seq != uint64(i+1) {
				t.Fatalf("message %d: got seq %d err %v", i+1, m.seq, m.err)
			}
			events = append(events, m.events...)
		}
		if !reflect.DeepEqual(events, want) {
			t.Errorf("got %d events, want the %d the store reads", len(events), len(want))
		}
	})
	t.Run("a message that is not a batch is reported at its sequence", func(t *testing.T) {
		if last := got[5]; last.seq != 6 || !errors.Is(last.err, ErrMalformed) || last.events != nil {
			t.Errorf("got seq %d err %v events %d, want seq 6 ErrMalformed", last.seq, last.err, len(last.events))
		}
	})
}

func TestRawScanReportsMissingSequences(t *testing.T) {
	tests := []struct {
		name    string
		deleted []uint64
		want    string // seq:events or seq:missing per call
	}{
		{name: "an untouched stream has no hole", want: "1:1 2:1 3:1 4:1 5:1"},
		{name: "a message deleted in the middle is one missing run", deleted: []uint64{2, 3}, want: "1:1 2:missing 4:1 5:1"},
		{name: "messages deleted at the start are missing from sequence 1", deleted: []uint64{1}, want: "1:missing 2:1 3:1 4:1 5:1"},
		{name: "messages deleted at the end are missing up to the last sequence", deleted: []uint64{4, 5}, want: "1:1 2:1 3:1 4:missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := OpenRaw(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			// A stream that allows deletes, as someone with the server's
			// credentials could make it.
			if _, err := r.js.AddStream(&nats.StreamConfig{Name: DefaultStream, Subjects: []string{DefaultSubject}, Storage: nats.FileStorage}); err != nil {
				t.Fatal(err)
			}
			d := eventstore.NewState().Draft(time.Unix(0, 1).UTC())
			for i := range 5 {
				first := d.Head()
				if _, err := d.Add(crashCommit(fmt.Sprint("c", i), 1)); err != nil {
					t.Fatal(err)
				}
				if _, err := r.js.Publish(DefaultSubject, EncodeMessage([8]byte{}, uint64(i), d.Events()[first:])); err != nil {
					t.Fatal(err)
				}
			}
			for _, seq := range tt.deleted {
				if err := r.js.DeleteMsg(DefaultStream, seq); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, m := range scanAll(t, r) {
				switch {
				case errors.Is(m.err, ErrMissing):
					got = append(got, fmt.Sprintf("%d:missing", m.seq))
				case m.err != nil:
					t.Fatalf("seq %d: %v", m.seq, m.err)
				default:
					got = append(got, fmt.Sprintf("%d:%d", m.seq, len(m.events)))
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %q, want %q", g, tt.want)
			}
		})
	}
}

// BenchmarkRawScan reads the 1,000,000-event log of BenchmarkReadAll
// through Raw.Scan, as `ledger verify` does (no cache, no verification).
func BenchmarkRawScan(b *testing.B) {
	dir := readAllDir(b)
	r, err := OpenRaw(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	events := 0
	start := time.Now()
	for b.Loop() {
		n := 0
		err := r.Scan(context.Background(), func(_ uint64, batch []eventstore.Event, err error) error {
			n += len(batch)
			return err
		})
		if err != nil || n != readAllEvents {
			b.Fatalf("scanned %d events, %v; want %d", n, err, readAllEvents)
		}
		events += n
	}
	b.ReportMetric(float64(events)/time.Since(start).Seconds(), "events/s")
}
