package audit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// fill appends n events to a store, in commits of one to three events over
// a handful of streams, the shape a ledger's log has.
func fill(t testing.TB, s eventstore.Store, n int) {
	t.Helper()
	ctx := testContext(t)
	head, err := s.Head(ctx)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	for i := int(head); i < int(head)+n; {
		c := eventstore.Commit{CommandID: fmt.Sprintf("cmd-%d", i), Fingerprint: fmt.Sprintf("fp-%d", i)}
		for k := 0; k < 1+i%3 && i < int(head)+n; k, i = k+1, i+1 {
			c.Events = append(c.Events, eventstore.Event{
				Stream: fmt.Sprintf("loan-L%d", i%7),
				Type:   "loan.repaid.v1",
				Data:   fmt.Appendf(nil, `{"loan_id":"L%d","amount":"%d.00","date":"2017-03-01"}`, i%7, 100+i),
				Meta:   eventstore.Meta{BusinessDate: "2017-03-01", Actor: "clerk", CorrelationID: "case"},
			})
		}
		if _, err := s.Append(ctx, c); err != nil {
			t.Fatalf("Append(%s): %v", c.CommandID, err)
		}
	}
}

// memoryLog returns an in-memory store holding n events.
func memoryLog(t testing.TB, n int) *memory.Store {
	t.Helper()
	s := memory.New()
	t.Cleanup(func() { s.Close() })
	fill(t, s, n)
	return s
}

// readAll returns every event of a log.
func readAll(t testing.TB, log audit.Log) audit.Events {
	t.Helper()
	var out audit.Events
	err := log.Read(testContext(t), 0, func(e eventstore.Event) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return out
}

// buildTree builds the Merkle tree of a log.
func buildTree(t testing.TB, log audit.Log) *audit.Tree {
	t.Helper()
	tree, err := audit.Build(testContext(t), log)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return tree
}

func contextWithCancel(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithCancel(parent)
}

// requestTimeout bounds one raw NATS request in the tests.
const requestTimeout = 5 * time.Second

func afterMillisecond() <-chan time.Time { return time.After(time.Millisecond) }
