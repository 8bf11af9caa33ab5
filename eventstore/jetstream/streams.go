package jetstream

import (
	"slices"

	"github.com/hrss-ledger/ledger/eventstore"
)

// streamIndex tells which messages hold a stream's events, for ReadStream.
// A log has about as many streams as events, so it is kept compact and
// free of pointers (see eventstore/index.go): each stream's digest maps to
// the newest of its links, and each link names a message and the link
// before it. A stream that lives in one message costs one map entry and
// one link, some 50 bytes, instead of its name and a slice.
type streamIndex struct {
	newest map[eventstore.Key]int // index+1 of the stream's newest link
	links  []streamLink
}

type streamLink struct {
	seq  uint64 // a message holding events of the stream
	prev int    // index+1 of the link before, 0 for the first
}

func newStreamIndex() streamIndex {
	return streamIndex{newest: make(map[eventstore.Key]int)}
}

// add records that message seq holds events of stream; messages come in
// order, each stream's events within one message together or not.
func (x *streamIndex) add(stream eventstore.Key, seq uint64) {
	n := x.newest[stream]
	if n > 0 && x.links[n-1].seq == seq {
		return
	}
	x.links = append(x.links, streamLink{seq: seq, prev: n})
	x.newest[stream] = len(x.links)
}

// seqs returns the messages holding events of stream, oldest first.
func (x *streamIndex) seqs(stream string) []uint64 {
	var out []uint64
	for n := x.newest[eventstore.KeyOf(stream)]; n > 0; n = x.links[n-1].prev {
		out = append(out, x.links[n-1].seq)
	}
	slices.Reverse(out)
	return out
}
