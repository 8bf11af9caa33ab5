package audit_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

// recordCheckpoint signs the store's current tree and appends the
// checkpoint as an event, as the server does at a day close.
func recordCheckpoint(t *testing.T, store *memory.Store, signer *audit.Signer, date string) audit.Checkpoint {
	t.Helper()
	cp := signer.Checkpoint(buildTree(t, store), closeOfDay)
	e, err := audit.CheckpointEvent(cp, "day", date)
	if err != nil {
		t.Fatalf("CheckpointEvent: %v", err)
	}
	c := eventstore.Commit{CommandID: "checkpoint-" + date, Fingerprint: cp.RootHash.String(), Events: []eventstore.Event{e}}
	if _, err := store.Append(testContext(t), c); err != nil {
		t.Fatalf("Append checkpoint: %v", err)
	}
	return cp
}

// rechain recomputes every hash from position `from` on, as someone who
// rewrote history and knows the (unkeyed) chain would.
func rechain(l audit.Events, from int) audit.Events {
	for i := from - 1; i < len(l); i++ {
		var prev [32]byte
		if i > 0 {
			prev = l[i-1].Hash
		}
		l[i].Hash = eventstore.ChainHash(prev, l[i])
	}
	return l
}

func TestVerifyLogChecksCheckpoints(t *testing.T) {
	store := memoryLog(t, 50)
	signer := newSigner(t)
	first := recordCheckpoint(t, store, signer, "2017-03-01")
	fill(t, store, 30)
	recordCheckpoint(t, store, signer, "2017-03-02") // at position 82, for size 81
	fill(t, store, 10)
	events := readAll(t, store)
	if len(events) != 92 {
		t.Fatalf("log holds %d events, want 92", len(events))
	}
	full := signer.Checkpoint(buildTree(t, store), closeOfDay)

	tests := []struct {
		name            string
		log             audit.Events
		trusted         []audit.Checkpoint
		key             *audit.Signer
		wantAt          eventstore.Position // 0: intact
		wantCheckpoints int
	}{
		{"an untouched log verifies with its checkpoints", slices.Clone(events), []audit.Checkpoint{first, full}, signer, 0, 4},
		{"a log rewritten with a recomputed chain fails at the next checkpoint",
			rechain(alter(slices.Clone(events), 30), 30), nil, signer, 51, 0},
		{"a rewrite after the last recorded checkpoint fails at the trusted one",
			rechain(alter(slices.Clone(events), 85), 85), []audit.Checkpoint{full}, signer, 92, 2},
		{"a log cut short fails where the trusted checkpoint expected more",
			slices.Clone(events[:88]), []audit.Checkpoint{full}, signer, 89, 2},
		{"a checkpoint event signed by another key fails there",
			slices.Clone(events), nil, newSigner(t), 51, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := audit.VerifyOptions{PublicKey: tt.key.PublicKey()}
			if tt.key == signer {
				opts.Trusted = tt.trusted
			}
			report, tree, err := audit.VerifyLog(testContext(t), tt.log, opts)
			if tt.wantAt == 0 {
				if err != nil || !report.OK || report.Checkpoints != tt.wantCheckpoints {
					t.Fatalf("VerifyLog = %+v, %v; want ok with %d checkpoints", report, err, tt.wantCheckpoints)
				}
				if root, _ := tree.Root(tree.Size()); root != full.RootHash || report.Root != full.RootHash {
					t.Errorf("tree root %s, report root %s, want %s", root, report.Root, full.RootHash)
				}
				return
			}
			var brk *audit.BreakError
			if !errors.As(err, &brk) || brk.Position != tt.wantAt || brk.Fault != audit.FaultCheckpoint {
				t.Fatalf("VerifyLog error = %v, want a checkpoint break at %d", err, tt.wantAt)
			}
			if report.Checkpoints != tt.wantCheckpoints {
				t.Errorf("%d checkpoints passed before the break, want %d", report.Checkpoints, tt.wantCheckpoints)
			}
		})
	}
}

func alter(l audit.Events, position int) audit.Events {
	l[position-1].Data = []byte(`{"amount":"1000000.00"}`)
	return l
}

func TestVerifyLogRefusesAForgedTrustedCheckpoint(t *testing.T) {
	store := memoryLog(t, 10)
	signer := newSigner(t)
	cp := signer.Checkpoint(buildTree(t, store), closeOfDay)
	cp.LogSize = 9
	_, _, err := audit.VerifyLog(testContext(t), store, audit.VerifyOptions{PublicKey: signer.PublicKey(), Trusted: []audit.Checkpoint{cp}})
	if !errors.Is(err, audit.ErrBadSignature) {
		t.Errorf("VerifyLog with a forged trusted checkpoint: %v, want ErrBadSignature", err)
	}
}
