package memory

import "github.com/hrss-ledger/ledger/eventstore"

var _ eventstore.CommandLookup = (*Store)(nil)

// LookupCommand returns what the store knows of a command id: every
// command appended, as the store appends under one lock.
func (s *Store) LookupCommand(id string) (eventstore.CommandEntry, bool) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return s.d.state.LookupCommand(id)
}

// CommandsKnown returns the head: the store knows every command in its log.
func (s *Store) CommandsKnown() eventstore.Position {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	head, _ := s.d.state.Head()
	return head
}
