package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
)

func openJetStream(t *testing.T, dir string, opts ...jetstream.Option) *jetstream.Store {
	t.Helper()
	s, err := jetstream.OpenEmbedded(testContext(t), dir, opts...)
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	return s
}

// TestJetStreamLogProvesItsEventsAcrossARestart runs the whole audit on the
// embedded JetStream store: a tree that follows the log as it is written, a
// checkpoint recorded in the log, proofs checked offline, and after a
// restart the same roots.
func TestJetStreamLogProvesItsEventsAcrossARestart(t *testing.T) {
	dir := t.TempDir()
	signer := newSigner(t)
	store := openJetStream(t, dir)
	tree := audit.NewTree(store)
	ctx, stop := context.WithCancel(testContext(t))
	followed := make(chan error, 1)
	go func() { followed <- tree.Follow(ctx, store) }()

	fill(t, store, 300)
	first := signer.Checkpoint(buildTree(t, store), closeOfDay)
	e, err := audit.CheckpointEvent(first, "day", "2017-03-31")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(testContext(t), eventstore.Commit{CommandID: "close-2017-03-31", Fingerprint: "fp", Events: []eventstore.Event{e}}); err != nil {
		t.Fatalf("append checkpoint: %v", err)
	}
	fill(t, store, 120)
	waitForSize(t, tree, 421)
	stop()
	<-followed
	second := signer.Checkpoint(tree, closeOfDay.AddDate(0, 0, 1))
	checkProofs(t, tree, store, signer, first, second)
	if err := store.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	reopened := openJetStream(t, dir)
	defer reopened.Close()
	report, rebuilt, err := audit.VerifyLog(testContext(t), reopened, audit.VerifyOptions{
		PublicKey: signer.PublicKey(), Trusted: []audit.Checkpoint{first, second}})
	if err != nil {
		t.Fatalf("VerifyLog after restart: %v", err)
	}
	if !report.OK || report.EventsChecked != 421 || report.Checkpoints != 3 || report.Root != second.RootHash {
		t.Errorf("report after restart = %+v, want ok, 421 events, 3 checkpoints, root %s", report, second.RootHash)
	}
	if rebuilt.Size() != tree.Size() {
		t.Errorf("rebuilt tree has %d leaves, the followed one %d", rebuilt.Size(), tree.Size())
	}
}

func waitForSize(t *testing.T, tree *audit.Tree, size uint64) {
	t.Helper()
	ctx := testContext(t)
	for tree.Size() < size {
		if ctx.Err() != nil {
			t.Fatalf("tree reached %d leaves, want %d", tree.Size(), size)
		}
		select {
		case <-ctx.Done():
		case <-afterMillisecond():
		}
	}
}

// checkProofs checks, through their JSON form, an inclusion proof of one
// event and the consistency of the two checkpoints.
func checkProofs(t *testing.T, tree *audit.Tree, log audit.Log, signer *audit.Signer, older, newer audit.Checkpoint) {
	t.Helper()
	events, err := audit.ReadRange(testContext(t), log, 123, 123)
	if err != nil {
		t.Fatal(err)
	}
	inclusion, err := tree.InclusionProof(123, newer.LogSize)
	if err != nil {
		t.Fatal(err)
	}
	record := roundTrip(t, audit.Record(events[0]))
	leaf := eventstore.Canonical(record.Event())
	if err := audit.VerifyInclusionProof(roundTrip(t, newer), signer.PublicKey(), leaf, roundTrip(t, inclusion)); err != nil {
		t.Errorf("inclusion of position 123: %v", err)
	}
	consistency, err := tree.ConsistencyProof(older.LogSize, newer.LogSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.VerifyConsistencyProof(roundTrip(t, older), roundTrip(t, newer), signer.PublicKey(), roundTrip(t, consistency)); err != nil {
		t.Errorf("consistency of %d with %d: %v", older.LogSize, newer.LogSize, err)
	}
}

// TestJetStreamStoreRefusesAMessagePublishedAroundTheLedger publishes a
// message on the log's subject with a plain NATS client, as someone with
// access to the server could. The store itself then refuses to read the log
// (ErrCorrupt), so VerifyChain reports a failure to read rather than a
// position: naming the position needs a reader that does not check
// (see the package report).
func TestJetStreamStoreRefusesAMessagePublishedAroundTheLedger(t *testing.T) {
	store := openJetStream(t, t.TempDir(), jetstream.WithPort(-1))
	defer store.Close()
	fill(t, store, 50)
	nc, err := nats.Connect(store.ClientURL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer nc.Close()
	if _, err := nc.Request(jetstream.DefaultSubject, []byte("LGB1 not a batch"), requestTimeout); err != nil {
		t.Fatalf("raw publish: %v", err)
	}
	_, err = audit.VerifyChain(testContext(t), store, nil)
	if err == nil || errors.Is(err, audit.ErrBroken) {
		t.Errorf("VerifyChain over a store holding a forged message: %v, want a read failure", err)
	}
}
