package memory_test

import (
	"testing"

	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

type harness struct{}

func (harness) Open(t *testing.T) eventstore.Store {
	s := memory.New()
	t.Cleanup(func() { s.Close() })
	return s
}

func (harness) Reopen(t *testing.T, closed eventstore.Store) (eventstore.Store, error) {
	s := closed.(*memory.Store).Reopen()
	t.Cleanup(func() { s.Close() })
	return s, nil
}

func TestConformance(t *testing.T) {
	eventstore.RunConformance(t, harness{})
}
