package projections

import "math"

// history is an account's entries in log order, in chunks like chunked's
// (the first grows by doubling, the others hold chunkLen). An entry keeps
// its position as an offset from its chunk's first position, and its
// document on the event (eventInfo.Doc): 16 bytes an entry instead of 32,
// for the most numerous records of the views (a fund or a bank account has
// an entry for nearly every payment of the log).
type history struct {
	Chunks []historyChunk
	N      int
}

// historyChunk is a run of entries whose positions are Base + Off.
type historyChunk struct {
	Base    uint64
	Entries []entry
}

// entry is one posting seen from one account. The running balance after
// it is not kept: a history is read from the account's first entry, so it
// sums the amounts as it goes.
type entry struct {
	Amount  int64  // signed: positive in, negative out
	Off     uint32 // position - the chunk's Base
	Counter int32  // number of the counterparty account
}

// add appends the entry of position pos. A chunk is started when the last
// is full or pos lies more than an offset can say past its base (an account
// silent for four billion events).
func (h *history) add(pos uint64, amount int64, counter int32) {
	last := len(h.Chunks) - 1
	if last < 0 || len(h.Chunks[last].Entries) == chunkLen || pos-h.Chunks[last].Base > math.MaxUint32 {
		var entries []entry
		if last >= 0 {
			entries = make([]entry, 0, chunkLen)
		}
		h.Chunks = append(h.Chunks, historyChunk{Base: pos, Entries: entries})
		last++
	}
	c := &h.Chunks[last]
	c.Entries = append(c.Entries, entry{Amount: amount, Off: uint32(pos - c.Base), Counter: counter})
	h.N++
}

// all yields the entries in order with their positions.
func (h *history) all(yield func(uint64, *entry) bool) {
	for k := range h.Chunks {
		c := &h.Chunks[k]
		for i := range c.Entries {
			if !yield(c.Base+uint64(c.Entries[i].Off), &c.Entries[i]) {
				return
			}
		}
	}
}
