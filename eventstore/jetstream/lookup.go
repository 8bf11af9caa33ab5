package jetstream

import "github.com/hrss-ledger/ledger/eventstore"

var _ eventstore.CommandLookup = (*Store)(nil)

// LookupCommand returns what the store's state knows of a command id. The
// state holds every command up to CommandsKnown; messages another writer
// appended since the store last caught up are not in it yet.
func (s *Store) LookupCommand(id string) (eventstore.CommandEntry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state.LookupCommand(id)
}

// CommandsKnown returns the state's head: the committer folds a batch into
// the state before it answers the batch's callers, and a catch-up folds
// whole messages in order, so every command up to it is known.
func (s *Store) CommandsKnown() eventstore.Position {
	s.mu.RLock()
	defer s.mu.RUnlock()
	head, _ := s.state.Head()
	return head
}
