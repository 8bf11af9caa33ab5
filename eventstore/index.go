package eventstore

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// Compact indexes of a log's command ids and streams.
//
// A log of ten million events holds about as many command ids and streams
// (a placement or a payment is its own stream). Keyed by their strings, the
// maps cost some 150 bytes an entry and, being full of pointers, a garbage
// collection scans them all on every cycle. Keyed by a 128-bit digest of the
// string, with values free of pointers, the collector skips them entirely.
// The digest is SHA-256, so that no one can choose two command ids that
// share one: at 128 bits, a chance collision among 10^10 ids has odds below
// 10^-18.

// Key is the 128-bit digest that stands for a command id or a stream name.
type Key [16]byte

// KeyOf returns the digest of s.
func KeyOf(s string) Key {
	sum := sha256.Sum256([]byte(s))
	return Key(sum[:16])
}

// fingerprintOf is the digest a command's fingerprint is compared by: a
// reused command id with another fingerprint passes for the same command
// with odds of 2^-64.
func fingerprintOf(s string) uint64 {
	sum := sha256.Sum256([]byte(s))
	return binary.LittleEndian.Uint64(sum[:8])
}

// CommandIndex remembers every command id of a log with its fingerprint and
// the positions of its events, forever. It is not safe for concurrent use.
//
// Most entries live in one array sorted by key, 40 bytes each, found through
// a table of where each key prefix starts (the keys are uniform, so a
// lookup probes a handful of neighbouring entries); new entries go to a
// small map, merged into the array once the map holds an eighth of it. A
// map alone costs some 100 bytes an entry, as its tables run between half
// and seven eighths full.
type CommandIndex struct {
	sorted []commandSlot
	starts []uint32 // starts[p]: first index in sorted of a key with prefix p (len 2^prefixBits + 1)
	shift  uint     // 64 - prefixBits
	recent map[Key]CommandEntry
}

type commandSlot struct {
	key   Key
	entry CommandEntry
}

// CommandEntry is what the index remembers of one command.
type CommandEntry struct {
	fingerprint uint64
	first       Position
	span        uint32 // Last - First; a commit fits one append, far below 2^32 events
}

// Tuning of CommandIndex.
const (
	minMergeEntries   = 4096 // the map is merged once it holds this many, or an eighth of the array
	mergeFraction     = 8
	entriesPerPrefix  = 4 // the prefix table has about one slot per this many entries
	maxPrefixBits     = 28
	sortedGrowPercent = 125 // capacity the array keeps for the merges to come, in percent of its length
)

// Result returns the positions of the command's events.
func (c CommandEntry) Result() Result {
	return Result{First: c.first, Last: c.first + Position(c.span)}
}

// Matches reports whether fingerprint is the one the command was recorded with.
func (c CommandEntry) Matches(fingerprint string) bool {
	return c.fingerprint == fingerprintOf(fingerprint)
}

// NewCommandIndex returns an empty index.
func NewCommandIndex() *CommandIndex {
	return &CommandIndex{recent: make(map[Key]CommandEntry), shift: 64, starts: []uint32{0, 0}}
}

// Len returns the number of commands.
func (x *CommandIndex) Len() int { return len(x.sorted) + len(x.recent) }

// Get returns the entry of a command id.
func (x *CommandIndex) Get(id string) (CommandEntry, bool) {
	return x.GetKey(KeyOf(id))
}

// GetKey is Get for an id's digest.
func (x *CommandIndex) GetKey(k Key) (CommandEntry, bool) {
	if c, ok := x.recent[k]; ok {
		return c, true
	}
	if i, ok := x.find(k); ok {
		return x.sorted[i].entry, true
	}
	return CommandEntry{}, false
}

// find returns the index of k in sorted.
func (x *CommandIndex) find(k Key) (int, bool) {
	p := prefix(k, x.shift)
	lo, hi := int(x.starts[p]), int(x.starts[p+1])
	bucket := x.sorted[lo:hi]
	i, ok := slices.BinarySearchFunc(bucket, k, func(s commandSlot, k Key) int { return compareKeys(s.key, k) })
	return lo + i, ok
}

func prefix(k Key, shift uint) uint64 {
	if shift >= 64 {
		return 0
	}
	return binary.BigEndian.Uint64(k[:8]) >> shift
}

func compareKeys(a, b Key) int {
	if c := cmpUint(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmpUint(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Put records a command with the positions of its events.
func (x *CommandIndex) Put(id, fingerprint string, r Result) {
	x.PutKey(KeyOf(id), fingerprint, r)
}

// PutKey is Put for an id's digest.
func (x *CommandIndex) PutKey(k Key, fingerprint string, r Result) {
	x.set(k, CommandEntry{fingerprint: fingerprintOf(fingerprint), first: r.First, span: span(r)})
}

func (x *CommandIndex) set(k Key, c CommandEntry) {
	if i, ok := x.find(k); ok {
		x.sorted[i].entry = c
		return
	}
	x.recent[k] = c
	if len(x.recent) >= max(minMergeEntries, len(x.sorted)/mergeFraction) {
		x.merge()
	}
}

// Extend moves the last position of a recorded command to last, as a
// replay meets its events one by one. A command cannot span more events
// than one append holds: a log where one seems to is corrupt.
func (x *CommandIndex) Extend(k Key, last Position) error {
	c, _ := x.GetKey(k)
	if last < c.first || last-c.first >= MaxBatchEvents {
		return fmt.Errorf("%w: a command at position %d continues at %d", ErrCorrupt, c.first, last)
	}
	c.span = uint32(last - c.first)
	x.set(k, c)
	return nil
}

// merge moves the map's entries into the sorted array, merging from the
// back so that the array grows in place while its capacity lasts.
func (x *CommandIndex) merge() {
	add := make([]commandSlot, 0, len(x.recent))
	for k, c := range x.recent {
		add = append(add, commandSlot{k, c})
	}
	slices.SortFunc(add, func(a, b commandSlot) int { return compareKeys(a.key, b.key) })
	n, m := len(x.sorted), len(add)
	if cap(x.sorted) < n+m {
		grown := make([]commandSlot, n, (n+m)*sortedGrowPercent/100)
		copy(grown, x.sorted)
		x.sorted = grown
	}
	x.sorted = x.sorted[:n+m]
	i, j := n-1, m-1
	for w := n + m - 1; j >= 0; w-- {
		if i >= 0 && compareKeys(x.sorted[i].key, add[j].key) > 0 {
			x.sorted[w] = x.sorted[i]
			i--
		} else {
			x.sorted[w] = add[j]
			j--
		}
	}
	clear(x.recent)
	x.index()
}

// index rebuilds the prefix table for the array's length.
func (x *CommandIndex) index() {
	prefixBits := uint(min(max(bits.Len(uint(len(x.sorted)/entriesPerPrefix)), 1), maxPrefixBits))
	x.shift = 64 - prefixBits
	x.starts = slices.Grow(x.starts[:0], 1<<prefixBits+1)[:1<<prefixBits+1]
	p := uint64(0)
	for i, s := range x.sorted {
		for q := prefix(s.key, x.shift); p <= q; p++ {
			x.starts[p] = uint32(i)
		}
	}
	for ; p < uint64(len(x.starts)); p++ {
		x.starts[p] = uint32(len(x.sorted))
	}
}

func span(r Result) uint32 {
	n := r.Last - r.First
	if r.Last < r.First || n >= MaxBatchEvents {
		panic(fmt.Sprintf("eventstore: command spans positions %d..%d, beyond one append", r.First, r.Last))
	}
	return uint32(n)
}
