package domain_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/shopspring/decimal"
)

// TestSnapshotThenTailDecidesAsTheWholeHistory runs random command sequences
// and, at a random step, restores a second ledger from a snapshot of the
// first; from then on every command must be decided identically by both
// (same events, same refusal), and at the end both states must be equal.
// Tentative batches rolled back before the snapshot leave unused symbols
// behind, as in the sequencer. Replay one sequence with -seed N.
func TestSnapshotThenTailDecidesAsTheWholeHistory(t *testing.T) {
	for _, seed := range seeds(t) {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { snapshotSequence(t, seed) })
	}
}

func snapshotSequence(t *testing.T, seed uint64) {
	l := domain.NewLedger()
	for _, e := range lifeEvents(t) {
		l.Evolve(e)
	}
	g := &generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), day: domain.MustDate("2017-02-01"), ledger: l}
	cut := g.r.IntN(*stepsFlag)
	var restored *domain.Ledger
	compared := 0
	for step := range *stepsFlag {
		if step == cut {
			restored = roundTrip(t, l)
		}
		if g.r.IntN(10) == 0 {
			tentativeBatch(l, g)
		}
		cmd := g.command()
		events, err := l.Decide(cmd)
		if restored != nil {
			gotEvents, gotErr := restored.Decide(cmd)
			if got, want := outcome(t, gotEvents, gotErr), outcome(t, events, err); got != want {
				t.Fatalf("seed %d step %d: %T decided from the snapshot:\n%s\nfrom the whole history:\n%s", seed, step, cmd, got, want)
			}
			compared++
		}
		if err != nil {
			continue
		}
		for _, e := range events {
			l.Evolve(e)
			if restored != nil {
				restored.Evolve(e)
			}
		}
	}
	if restored == nil {
		t.Fatalf("seed %d: no snapshot taken", seed)
	}
	if got, want := domain.Snapshot(restored), domain.Snapshot(l); got != want {
		t.Fatalf("seed %d: state from the snapshot and tail differs\ngot:\n%s\nwant:\n%s", seed, got, want)
	}
	t.Logf("seed %d: snapshot at step %d, %d commands compared", seed, cut, compared)
}

// tentativeBatch evolves a few commands and rolls them back, as a batch
// the store refused.
func tentativeBatch(l *domain.Ledger, g *generator) {
	l.Mark()
	for range 1 + g.r.IntN(4) {
		if events, err := l.Decide(g.command()); err == nil {
			for _, e := range events {
				l.Evolve(e)
			}
		}
	}
	l.Rollback()
}

// roundTrip writes l's snapshot and reads it back, checking that the state read equals l.
func roundTrip(t *testing.T, l *domain.Ledger) *domain.Ledger {
	t.Helper()
	var buf bytes.Buffer
	n, err := l.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	restored, err := domain.ReadLedger(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := domain.Snapshot(restored), domain.Snapshot(l); got != want {
		t.Fatalf("state read back differs\ngot:\n%s\nwant:\n%s", got, want)
	}
	return restored
}

// outcome renders a decision: the wire form of its events, or its refusal.
func outcome(t *testing.T, events []domain.Event, err error) string {
	t.Helper()
	if err != nil {
		return "refused: " + err.Error()
	}
	var b strings.Builder
	for _, e := range events {
		eventType, data, err := domain.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s\n", eventType, data)
	}
	return b.String()
}

func TestSnapshotKeepsEveryKindOfRow(t *testing.T) {
	l := domain.NewLedger()
	for _, e := range lifeEvents(t) {
		l.Evolve(e)
	}
	restored := roundTrip(t, l)
	// The fund balance keeps its scale, not only its value.
	after := pay("PAY9", "STARTUP", "P2", "ES", "0.10", "2017-08-01")
	got, gotErr := restored.Decide(after)
	want, wantErr := l.Decide(after)
	if g, w := outcome(t, got, gotErr), outcome(t, want, wantErr); g != w {
		t.Fatalf("got %s, want %s", g, w)
	}
	if _, ok := restored.PendingApproval("A1"); ok {
		t.Error("request A1 was approved, the snapshot forgot it")
	}
}

func TestReadLedgerRefusesWhatItDidNotWrite(t *testing.T) {
	l := given(t, domain.AllocateFund{FundID: "ES", Amount: decimal.RequireFromString("1000.50"), Date: d("2017-02-01"), Document: "doc"})
	var buf bytes.Buffer
	if _, err := l.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	tests := []struct {
		name string
		data []byte
	}{
		{"an empty input is refused", nil},
		{"bytes that are not a snapshot are refused", []byte("{\"not\": \"a snapshot\"}")},
		{"a snapshot of another format version (127) is refused", withByte(good, len("LDGRSNAP"), 0x7f)},
		{"a snapshot cut short is refused", good[:len(good)/2]},
		{"a snapshot without its last byte is refused", good[:len(good)-1]},
		{"a snapshot with bytes after its last table is refused", append(bytes.Clone(good), 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := domain.ReadLedger(bytes.NewReader(tt.data))
			if !errors.Is(err, domain.ErrSnapshotFormat) {
				t.Fatalf("got %v, %v; want ErrSnapshotFormat", got, err)
			}
		})
	}
}

func withByte(data []byte, i int, b byte) []byte {
	out := bytes.Clone(data)
	out[i] = b
	return out
}

// FuzzReadLedger checks that no input makes ReadLedger panic, and that a
// ledger it accepts writes a snapshot that reads back the same.
func FuzzReadLedger(f *testing.F) {
	var buf bytes.Buffer
	l := domain.NewLedger()
	for _, e := range lifeEvents(f) {
		l.Evolve(e)
	}
	if _, err := l.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := domain.ReadLedger(bytes.NewReader(data))
		if err != nil {
			return
		}
		var again bytes.Buffer
		if _, err := l.WriteTo(&again); err != nil {
			t.Fatal(err)
		}
		back, err := domain.ReadLedger(&again)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := domain.Snapshot(back), domain.Snapshot(l); got != want {
			t.Fatalf("snapshot of a snapshot differs\ngot:\n%s\nwant:\n%s", got, want)
		}
	})
}
