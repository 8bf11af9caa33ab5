package eventstore

// CommandLookup is implemented by a store that keeps every command id of
// its log (State) and can answer from it, so that a writer need not keep a
// second copy of the index (at ten million commands, half a gigabyte).
//
// The store's knowledge may lag the log: another process may have appended
// events that this store has not folded in yet, though a reader of the log
// already sees them. CommandsKnown says how far the knowledge goes, so that
// a caller who has read further remembers the commands past it itself.
type CommandLookup interface {
	// LookupCommand returns the entry of a command id, if the store knows it.
	LookupCommand(id string) (CommandEntry, bool)
	// CommandsKnown returns the position up to which LookupCommand knows
	// every command: a command with events at or below it is found. It
	// never decreases.
	CommandsKnown() Position
}

// LookupCommand returns the entry of a command id in the state; a backend
// serialises it with the state's other uses.
func (s *State) LookupCommand(id string) (CommandEntry, bool) { return s.commands.Get(id) }
