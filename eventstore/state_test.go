package eventstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/eventstore"
)

func commitOf(id string, streams ...string) eventstore.Commit {
	c := eventstore.Commit{CommandID: id, Fingerprint: "fp-" + id}
	for _, s := range streams {
		c.Events = append(c.Events, eventstore.Event{Stream: s, Type: "t.v1", Data: []byte(`{}`)})
	}
	return c
}

func TestDraftNextSeesItsParent(t *testing.T) {
	st := eventstore.NewState()
	first := st.Draft(time.Unix(1, 0))
	if _, err := first.Add(commitOf("a", "fund-1")); err != nil {
		t.Fatal(err)
	}
	second := first.Next(time.Unix(2, 0))
	c := commitOf("b", "fund-1")
	c.Expect = []eventstore.Expectation{{Stream: "fund-1", Version: 1}}
	if r, err := second.Add(c); err != nil || r.First != 2 {
		t.Fatalf("Add after the parent's commit = %+v, %v; want position 2", r, err)
	}
	if r, err := second.Add(commitOf("a", "fund-1")); err != nil || !r.Duplicate {
		t.Errorf("the parent's command in the child = %+v, %v; want a duplicate", r, err)
	}
	st.Apply(first)
	st.Apply(second)
	if head, _ := st.Head(); head != 2 || st.Version("fund-1") != 2 {
		t.Errorf("after applying both: head %d version %d, want 2 and 2", head, st.Version("fund-1"))
	}
}

func TestRestoreRefusesABrokenLog(t *testing.T) {
	good := eventstore.NewState().Draft(time.Unix(1, 0))
	good.Add(commitOf("a", "fund-1", "fund-2"))
	good.Add(commitOf("b", "fund-1"))
	events := good.Events()
	tests := []struct {
		name   string
		damage func(e []eventstore.Event)
	}{
		{"a gap in positions", func(e []eventstore.Event) { e[1].Position = 3 }},
		{"a repeated version", func(e []eventstore.Event) { e[2].Version = 1 }},
		{"a changed body", func(e []eventstore.Event) { e[1].Data = []byte(`{"x":1}`) }},
		{"a command split apart", func(e []eventstore.Event) {
			e[2].Meta.CommandID = "a"
			e[2].Hash = eventstore.ChainHash(e[1].Hash, e[2])
			e[1].Meta.CommandID = "c"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			damaged := append([]eventstore.Event(nil), events...)
			tt.damage(damaged)
			st := eventstore.NewState()
			var err error
			for _, e := range damaged {
				if err = st.Restore(e); err != nil {
					break
				}
			}
			if !errors.Is(err, eventstore.ErrCorrupt) {
				t.Errorf("Restore: error %v, want ErrCorrupt", err)
			}
		})
	}
}

func BenchmarkDraft64(b *testing.B) {
	st := eventstore.NewState()
	data := make([]byte, 300)
	n := 0
	for b.Loop() {
		d := st.Draft(time.Now())
		for range 64 {
			c := commitOf(fmt.Sprint("cmd-", n), fmt.Sprint("loan-", n%100_000))
			c.Events[0].Data = data
			n++
			if _, err := d.Add(c); err != nil {
				b.Fatal(err)
			}
		}
		st.Apply(d)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}
