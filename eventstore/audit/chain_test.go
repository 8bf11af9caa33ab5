package audit_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
)

func TestVerifyChainOfAnUntouchedLog(t *testing.T) {
	store := memoryLog(t, 200)
	var seen []eventstore.Position
	report, err := audit.VerifyChain(testContext(t), store, func(p eventstore.Position) { seen = append(seen, p) })
	if err != nil {
		t.Fatalf("VerifyChain: %v", err)
	}
	events := readAll(t, store)
	last := events[len(events)-1]
	want := audit.ChainReport{OK: true, EventsChecked: 200, Head: 200, HeadHash: last.Hash}
	if report != want {
		t.Errorf("report = %+v, want %+v", report, want)
	}
	if len(seen) != 200 || seen[0] != 1 || seen[199] != 200 {
		t.Errorf("progress saw %d positions (%v..), want 1..200", len(seen), seen[:min(3, len(seen))])
	}
}

func TestVerifyChainOfAnEmptyLog(t *testing.T) {
	report, err := audit.VerifyChain(testContext(t), memoryLog(t, 0), nil)
	if err != nil || !report.OK || report.EventsChecked != 0 {
		t.Errorf("VerifyChain(empty) = %+v, %v; want ok with 0 events", report, err)
	}
}

// tamper is one way of going around the ledger, applied to a copy of the
// log as read from a store.
type tamper struct {
	name      string
	change    func(events audit.Events) audit.Events
	wantAt    eventstore.Position
	wantFault audit.Fault
}

func tampers() []tamper {
	return []tamper{
		{"one byte of an event's data altered is named", func(l audit.Events) audit.Events {
			l[41].Data = slices.Clone(l[41].Data)
			l[41].Data[3] ^= 0x01
			return l
		}, 42, audit.FaultHash},
		{"an altered actor is named", func(l audit.Events) audit.Events {
			l[9].Meta.Actor = "someone else"
			return l
		}, 10, audit.FaultHash},
		{"an altered event whose hash was recomputed breaks the next one", func(l audit.Events) audit.Events {
			l[41].Data = []byte(`{"amount":"999999.00"}`)
			l[41].Hash = eventstore.ChainHash(l[40].Hash, l[41])
			return l
		}, 43, audit.FaultHash},
		{"a dropped event is named by its position", func(l audit.Events) audit.Events {
			return slices.Delete(l, 99, 100)
		}, 100, audit.FaultPosition},
		{"a dropped event with the rest renumbered breaks the chain there", func(l audit.Events) audit.Events {
			l = slices.Delete(l, 99, 100)
			for i := 99; i < len(l); i++ {
				l[i].Position--
			}
			return l
		}, 100, audit.FaultHash},
		{"two swapped events are named at the first", func(l audit.Events) audit.Events {
			l[9], l[10] = l[10], l[9]
			return l
		}, 10, audit.FaultPosition},
		{"an inserted event is named", func(l audit.Events) audit.Events {
			forged := l[20]
			forged.Data = []byte(`{"amount":"5000.00"}`)
			return slices.Insert(l, 20, forged)
		}, 21, audit.FaultHash},
		{"an inserted event that chains is caught by the next one", func(l audit.Events) audit.Events {
			forged := l[20]
			forged.Data = []byte(`{"amount":"5000.00"}`)
			forged.Hash = eventstore.ChainHash(l[19].Hash, forged)
			return slices.Insert(l, 20, forged)
		}, 22, audit.FaultPosition},
		{"a repeated stream version is named", func(l audit.Events) audit.Events {
			l[30].Version++
			l[30].Hash = eventstore.ChainHash(l[29].Hash, l[30])
			for i := 31; i < len(l); i++ {
				l[i].Hash = eventstore.ChainHash(l[i-1].Hash, l[i])
			}
			return l
		}, 31, audit.FaultVersion},
	}
}

func TestVerifyChainNamesTheFirstBadPosition(t *testing.T) {
	events := readAll(t, memoryLog(t, 200))
	for _, tt := range tampers() {
		t.Run(tt.name, func(t *testing.T) {
			tampered := tt.change(slices.Clone(events))
			report, err := audit.VerifyChain(testContext(t), tampered, nil)
			var brk *audit.BreakError
			if !errors.As(err, &brk) || !errors.Is(err, audit.ErrBroken) {
				t.Fatalf("VerifyChain error = %v, want a *BreakError", err)
			}
			if brk.Position != tt.wantAt || brk.Fault != tt.wantFault {
				t.Errorf("break at %d (%s), want %d (%s): %s", brk.Position, brk.Fault, tt.wantAt, tt.wantFault, brk.Detail)
			}
			if report.OK || report.FirstBadPosition != tt.wantAt || report.EventsChecked != tt.wantAt-1 {
				t.Errorf("report = %+v, want not ok, first bad %d, %d checked", report, tt.wantAt, tt.wantAt-1)
			}
			if good := tampered[tt.wantAt-2]; report.HeadHash != good.Hash {
				t.Errorf("head hash %s, want the hash of the last good event %x", report.HeadHash, good.Hash)
			}
		})
	}
}
