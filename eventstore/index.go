package eventstore

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"sync"
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

// keyIndex maps digests to pointer-free values of type V. It is not safe
// for concurrent use.
//
// Most entries live in one array sorted by key, found through a table of
// where each key prefix starts (the keys are uniform, so a lookup probes a
// handful of neighbouring entries); new entries go to a small map, merged
// into the array once the map holds an eighth of it. A map alone costs
// some 60 bytes of table for a 32-byte entry, as its tables run between
// half and seven eighths full; the array costs the entry.
type keyIndex[V any] struct {
	sorted []keySlot[V]
	starts []uint32 // starts[p]: first index in sorted of a key with prefix p (len 2^prefixBits + 1)
	shift  uint     // 64 - prefixBits
	recent map[Key]V
}

type keySlot[V any] struct {
	key   Key
	value V
}

// Tuning of keyIndex.
const (
	minMergeEntries   = 4096 // the map is merged once it holds this many, or an eighth of the array
	mergeFraction     = 8
	entriesPerPrefix  = 4 // the prefix table has about one slot per this many entries
	maxPrefixBits     = 28
	sortedGrowPercent = 125 // capacity the array keeps for the merges to come, in percent of its length
)

func newKeyIndex[V any]() keyIndex[V] {
	return keyIndex[V]{recent: make(map[Key]V), shift: 64, starts: []uint32{0, 0}}
}

func (x *keyIndex[V]) len() int { return len(x.sorted) + len(x.recent) }

func (x *keyIndex[V]) get(k Key) (V, bool) {
	if v, ok := x.recent[k]; ok {
		return v, true
	}
	if i, ok := x.find(k); ok {
		return x.sorted[i].value, true
	}
	var zero V
	return zero, false
}

// find returns the index of k in sorted.
func (x *keyIndex[V]) find(k Key) (int, bool) {
	p := prefix(k, x.shift)
	lo, hi := int(x.starts[p]), int(x.starts[p+1])
	bucket := x.sorted[lo:hi]
	i, ok := slices.BinarySearchFunc(bucket, k, func(s keySlot[V], k Key) int { return compareKeys(s.key, k) })
	return lo + i, ok
}

func (x *keyIndex[V]) set(k Key, v V) {
	if i, ok := x.find(k); ok {
		x.sorted[i].value = v
		return
	}
	x.recent[k] = v
	if len(x.recent) >= max(minMergeEntries, len(x.sorted)/mergeFraction) {
		x.merge()
	}
}

// merge moves the map's entries into the sorted array, merging from the
// back so that the array grows in place while its capacity lasts.
func (x *keyIndex[V]) merge() {
	add := make([]keySlot[V], 0, len(x.recent))
	for k, v := range x.recent {
		add = append(add, keySlot[V]{k, v})
	}
	sortSlots(add, func(a, b *keySlot[V]) int { return 0 }) // no key twice in a map
	clear(x.recent)
	x.mergeSorted(add)
}

// mergeSorted adds slots sorted by key, none of them in the index yet, to
// the sorted array.
func (x *keyIndex[V]) mergeSorted(add []keySlot[V]) {
	n, m := len(x.sorted), len(add)
	var merged []keySlot[V]
	if cap(x.sorted) >= n+m {
		merged = x.sorted[:n+m] // in place, from the back
	} else {
		merged = make([]keySlot[V], n+m, (n+m)*sortedGrowPercent/100)
	}
	i, j := n-1, m-1
	for w := n + m - 1; w >= 0; w-- {
		if j < 0 || i >= 0 && compareKeys(x.sorted[i].key, add[j].key) > 0 {
			merged[w] = x.sorted[i]
			i--
		} else {
			merged[w] = add[j]
			j--
		}
	}
	x.sorted = merged
	x.index()
}

// adopt makes sorted (ordered by key, no key twice) the whole index.
func (x *keyIndex[V]) adopt(sorted []keySlot[V]) {
	x.sorted = sorted
	clear(x.recent)
	x.index()
}

// index rebuilds the prefix table for the array's length.
func (x *keyIndex[V]) index() {
	x.shift = 64 - prefixBitsFor(len(x.sorted))
	x.starts = countPrefixes(x.starts, x.sorted, x.shift)
}

func prefixBitsFor(entries int) uint {
	return uint(min(max(bits.Len(uint(entries/entriesPerPrefix)), 1), maxPrefixBits))
}

// countPrefixes returns, in dst's array, the table of where each prefix
// starts in slots, which are sorted by prefix.
func countPrefixes[V any](dst []uint32, slots []keySlot[V], shift uint) []uint32 {
	n := 1<<(64-shift) + 1
	dst = slices.Grow(dst[:0], n)[:n]
	p := uint64(0)
	for i, s := range slots {
		for q := prefix(s.key, shift); p <= q; p++ {
			dst[p] = uint32(i)
		}
	}
	for ; p < uint64(len(dst)); p++ {
		dst[p] = uint32(len(slots))
	}
	return dst
}

func prefix(k Key, shift uint) uint64 {
	if shift >= 64 {
		return 0
	}
	return binary.BigEndian.Uint64(k[:8]) >> shift
}

func compareKeys(a, b Key) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}

// sortSlots sorts slots by key, then by cmp for equal keys, in place and
// in about linear time: the keys are uniform digests, so radix passes on
// their leading bits leave buckets of a few slots each, sorted then by
// insertion. The first pass splits on topBits bits, few enough buckets
// that the moves stay within the caches; the second splits each of those,
// on two goroutines, small enough now to sit in a core's cache. A log's
// indexes are built at open by one such sort instead of growing merge by
// merge.
func sortSlots[V any](slots []keySlot[V], cmp func(a, b *keySlot[V]) int) {
	bits := prefixBitsFor(len(slots))
	top := min(bits, topBits)
	starts := radixPass(slots, 64-top, 1<<top)
	var wg sync.WaitGroup
	half := len(starts) / 2
	sortHalf := func(starts []uint32) {
		for b := range len(starts) - 1 {
			bucket := slots[starts[b]:starts[b+1]]
			sub := radixPass(bucket, 64-bits, 1<<(bits-top))
			sortBuckets(bucket, sub, cmp)
		}
	}
	wg.Go(func() { sortHalf(starts[:half+1]) })
	sortHalf(starts[half:])
	wg.Wait()
}

// topBits is the width of sortSlots' first radix pass: 256 buckets.
const topBits = 8

// radixPass moves every slot into the bucket of its key's prefix (the
// key's first 64-shift bits, modulo buckets) by an American flag sort,
// and returns where each bucket starts (with the end last).
func radixPass[V any](slots []keySlot[V], shift uint, buckets uint64) []uint32 {
	mask := buckets - 1
	bucketOf := func(k Key) uint64 { return prefix(k, shift) & mask }
	starts := make([]uint32, buckets+1)
	for i := range slots {
		starts[bucketOf(slots[i].key)+1]++
	}
	for p := 1; p < len(starts); p++ {
		starts[p] += starts[p-1]
	}
	next := slices.Clone(starts)
	for b := range buckets {
		for end := starts[b+1]; next[b] < end; next[b]++ {
			v := slots[next[b]]
			for d := bucketOf(v.key); d != b; d = bucketOf(v.key) {
				v, slots[next[d]] = slots[next[d]], v
				next[d]++
			}
			slots[next[b]] = v
		}
	}
	return starts
}

// sortBuckets sorts each bucket between consecutive starts by insertion.
func sortBuckets[V any](slots []keySlot[V], starts []uint32, cmp func(a, b *keySlot[V]) int) {
	full := func(a, b *keySlot[V]) int {
		if c := compareKeys(a.key, b.key); c != 0 {
			return c
		}
		return cmp(a, b)
	}
	for p := range len(starts) - 1 {
		bucket := slots[starts[p]:starts[p+1]]
		for i := 1; i < len(bucket); i++ {
			for j := i; j > 0 && full(&bucket[j-1], &bucket[j]) > 0; j-- {
				bucket[j-1], bucket[j] = bucket[j], bucket[j-1]
			}
		}
	}
}

// CommandIndex remembers every command id of a log with its fingerprint and
// the positions of its events, forever, in 32 bytes a command. It is not
// safe for concurrent use.
type CommandIndex struct {
	index keyIndex[CommandEntry]
}

// CommandEntry is what the index remembers of one command.
type CommandEntry struct {
	fingerprint uint64
	// positions is First << spanBits | (Last - First): a commit fits one
	// append, so its span fits spanBits, and First fits the rest.
	positions uint64
}

const spanBits = 12

// A command's span (Last - First) is below MaxBatchEvents.
const _ = uint(1<<spanBits - MaxBatchEvents)

// maxFirstPosition bounds a command's first position: 2^52, some ten
// thousand years of a province's events.
const maxFirstPosition = 1<<(64-spanBits) - 1

func newCommandEntry(fingerprint uint64, r Result) CommandEntry {
	if r.First > maxFirstPosition {
		panic(fmt.Sprintf("eventstore: command at position %d, beyond the index's %d", r.First, Position(maxFirstPosition)))
	}
	return CommandEntry{fingerprint: fingerprint, positions: r.First<<spanBits | uint64(span(r))}
}

func (c CommandEntry) first() Position { return c.positions >> spanBits }

// Result returns the positions of the command's events.
func (c CommandEntry) Result() Result {
	first := c.first()
	return Result{First: first, Last: first + c.positions&(1<<spanBits-1)}
}

// Matches reports whether fingerprint is the one the command was recorded with.
func (c CommandEntry) Matches(fingerprint string) bool {
	return c.fingerprint == fingerprintOf(fingerprint)
}

// NewCommandIndex returns an empty index.
func NewCommandIndex() *CommandIndex {
	return &CommandIndex{index: newKeyIndex[CommandEntry]()}
}

// Len returns the number of commands.
func (x *CommandIndex) Len() int { return x.index.len() }

// Get returns the entry of a command id.
func (x *CommandIndex) Get(id string) (CommandEntry, bool) {
	return x.GetKey(KeyOf(id))
}

// GetKey is Get for an id's digest.
func (x *CommandIndex) GetKey(k Key) (CommandEntry, bool) { return x.index.get(k) }

// Put records a command with the positions of its events.
func (x *CommandIndex) Put(id, fingerprint string, r Result) {
	x.PutKey(KeyOf(id), fingerprint, r)
}

// PutKey is Put for an id's digest.
func (x *CommandIndex) PutKey(k Key, fingerprint string, r Result) {
	x.index.set(k, newCommandEntry(fingerprintOf(fingerprint), r))
}

// Extend moves the last position of a recorded command to last, as a
// replay meets its events one by one. A command cannot span more events
// than one append holds: a log where one seems to is corrupt.
func (x *CommandIndex) Extend(k Key, last Position) error {
	c, _ := x.GetKey(k)
	first := c.first()
	if last < first || last-first >= MaxBatchEvents {
		return fmt.Errorf("%w: a command at position %d continues at %d", ErrCorrupt, first, last)
	}
	c.positions = first<<spanBits | (last - first)
	x.index.set(k, c)
	return nil
}

func span(r Result) uint32 {
	n := r.Last - r.First
	if r.Last < r.First || n >= MaxBatchEvents {
		panic(fmt.Sprintf("eventstore: command spans positions %d..%d, beyond one append", r.First, r.Last))
	}
	return uint32(n)
}
