package writer

import "github.com/hrss-ledger/ledger/eventstore"

// The writer answers a retried command as a duplicate, so it must find
// every command whose events its state holds. A store that keeps every
// command id (eventstore.CommandLookup) answers for all commands up to
// what it knows; the writer remembers only those past it: the events it
// read from the log that another process appended and its store has not
// folded in yet. So one process holds one index of its log, not two.
//
// Why this never misses a command: the state holds events from two
// sources. The writer's own appends are folded into the store's state
// before AppendBatch returns (and settle remembers any that are not).
// Events read by catchUp are remembered when past the store's known
// position sampled before the read; those at or below it are in the store,
// whose knowledge only grows. own is emptied only once the store knows
// everything in it. A command the store knows that the writer has not
// caught up to is answered as a duplicate: it is in the log, and the
// answer is read back from there.

// command returns what is known of a command id.
func (w *Writer) command(id string) (eventstore.CommandEntry, bool) {
	w.prune()
	if w.own.Len() > 0 {
		if entry, ok := w.own.Get(id); ok {
			return entry, true
		}
	}
	if w.lookup == nil {
		return eventstore.CommandEntry{}, false
	}
	return w.lookup.LookupCommand(id)
}

// commandsKnown returns the position up to which the store answers for
// every command; 0 for a store that does not answer.
func (w *Writer) commandsKnown() eventstore.Position {
	if w.lookup == nil {
		return 0
	}
	return w.lookup.CommandsKnown()
}

// prune empties own once the store knows every command in it.
func (w *Writer) prune() {
	if w.lookup != nil && w.own.Len() > 0 && w.lookup.CommandsKnown() >= w.ownTop {
		w.own = eventstore.NewCommandIndex()
	}
}

// remember records a whole command in own.
func (w *Writer) remember(k eventstore.Key, fingerprint string, r eventstore.Result) {
	w.own.PutKey(k, fingerprint, r)
	w.ownTop = max(w.ownTop, r.Last)
}

// rememberEvent records an event read back from the log in own: the first
// of its command, or the next one. A commit is folded into a store's state
// whole, so a command is never split across the store's known position.
func (w *Writer) rememberEvent(k eventstore.Key, e eventstore.Event) error {
	if _, seen := w.own.GetKey(k); !seen {
		w.remember(k, e.Meta.Fingerprint, eventstore.Result{First: e.Position, Last: e.Position})
		return nil
	}
	if err := w.own.Extend(k, e.Position); err != nil {
		return err
	}
	w.ownTop = max(w.ownTop, e.Position)
	return nil
}
