package domain

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
)

// rowTable is a table keyed by idKey for the tables that hold a row per
// event of the commonest kinds (payments, placements, trainings): millions
// of rows. A Go map of them costs about twice the rows' size, as its groups
// run between half and seven eighths full; here most rows live in one array
// sorted by key, found through a table of where each key prefix starts (the
// keys are digests, so uniform: a lookup probes a handful of neighbours),
// and new rows go to a small hash table (recentRows), merged into the
// array once it holds an eighth of it.
//
// It journals like table: while journaling, every set first records the
// row's old value (or its absence). Merges happen only when the journal is
// empty (at mark, or before the first mark), so a row that Rollback removes
// is always still in the map.
type rowTable[V any] struct {
	sorted     []keyedRow[V]
	starts     []uint32 // starts[p]: first index in sorted of a key with prefix p (len 2^prefixBits + 1)
	shift      uint     // 64 - prefixBits
	recent     recentRows[V]
	journal    []undo[idKey, V]
	journaling bool
}

type keyedRow[V any] struct {
	key idKey
	row V
}

// Tuning of rowTable.
const (
	minMergeRows     = 4096 // the map is merged once it holds this many, or an eighth of the array
	mergeFraction    = 8
	rowsPerPrefix    = 4 // the prefix table has about one slot per this many rows
	maxPrefixBits    = 28
	sortedGrowthPcnt = 125 // capacity the array keeps for the merges to come, in percent of its length
)

func newRowTable[V any]() rowTable[V] {
	return rowTable[V]{recent: newRecentRows[V](), shift: 64, starts: []uint32{0, 0}}
}

func (t *rowTable[V]) len() int { return len(t.sorted) + t.recent.len() }

func (t *rowTable[V]) get(k idKey) (V, bool) {
	if v, ok := t.recent.get(k); ok {
		return v, true
	}
	if i, ok := t.find(k); ok {
		return t.sorted[i].row, true
	}
	var zero V
	return zero, false
}

func (t *rowTable[V]) has(k idKey) bool {
	_, ok := t.get(k)
	return ok
}

func (t *rowTable[V]) set(k idKey, v V) {
	if t.journaling {
		old, existed := t.get(k)
		t.journal = append(t.journal, undo[idKey, V]{key: k, old: old, existed: existed})
	}
	t.put(k, v)
	if len(t.journal) == 0 {
		t.mergeIfDue()
	}
}

// add adds a row that must be new, looking k up once where has and set
// would twice; it reports false, changing nothing, if k has a row.
func (t *rowTable[V]) add(k idKey, v V) bool {
	if _, ok := t.recent.get(k); ok {
		return false
	}
	if _, ok := t.find(k); ok {
		return false
	}
	if t.journaling {
		t.journal = append(t.journal, undo[idKey, V]{key: k})
	}
	t.recent.put(k, v)
	if len(t.journal) == 0 {
		t.mergeIfDue()
	}
	return true
}

// put sets a row where it is: in place in the array, or in the map.
func (t *rowTable[V]) put(k idKey, v V) {
	if i, ok := t.find(k); ok {
		t.sorted[i].row = v
		return
	}
	t.recent.put(k, v)
}

// mark starts a new journal: the current rows become the state Rollback restores.
func (t *rowTable[V]) mark() {
	clear(t.journal)
	t.journal = t.journal[:0]
	t.journaling = true
	t.mergeIfDue()
}

// rollback undoes every change since the last mark, newest first. A row
// that did not exist at the mark was added to the map since, and no merge
// has moved it: merges wait for an empty journal.
func (t *rowTable[V]) rollback() {
	for i := len(t.journal) - 1; i >= 0; i-- {
		u := t.journal[i]
		if u.existed {
			t.put(u.key, u.old)
		} else {
			t.recent.delete(u.key)
		}
	}
	clear(t.journal)
	t.journal = t.journal[:0]
}

// find returns the index of k in sorted.
func (t *rowTable[V]) find(k idKey) (int, bool) {
	p := keyPrefix(k, t.shift)
	lo, hi := int(t.starts[p]), int(t.starts[p+1])
	i, ok := slices.BinarySearchFunc(t.sorted[lo:hi], k, func(r keyedRow[V], k idKey) int { return compareIDKeys(r.key, k) })
	return lo + i, ok
}

func (t *rowTable[V]) mergeIfDue() {
	if t.recent.len() >= max(minMergeRows, len(t.sorted)/mergeFraction) {
		t.merge()
	}
}

// merge moves the map's rows into the sorted array, merging from the back
// so that the array grows in place while its capacity lasts.
func (t *rowTable[V]) merge() {
	add := t.recentSorted()
	n, m := len(t.sorted), len(add)
	if cap(t.sorted) < n+m {
		grown := make([]keyedRow[V], n, (n+m)*sortedGrowthPcnt/100)
		copy(grown, t.sorted)
		t.sorted = grown
	}
	t.sorted = t.sorted[:n+m]
	i, j := n-1, m-1
	for w := n + m - 1; j >= 0; w-- {
		if i >= 0 && compareIDKeys(t.sorted[i].key, add[j].key) > 0 {
			t.sorted[w] = t.sorted[i]
			i--
		} else {
			t.sorted[w] = add[j]
			j--
		}
	}
	t.recent.clear()
	t.index()
}

// recentSorted returns the recent rows in key order.
func (t *rowTable[V]) recentSorted() []keyedRow[V] {
	return t.recent.sorted(make([]keyedRow[V], 0, t.recent.len()))
}

// index rebuilds the prefix table for the array's length.
func (t *rowTable[V]) index() {
	prefixBits := uint(min(max(bits.Len(uint(len(t.sorted)/rowsPerPrefix)), 1), maxPrefixBits))
	t.shift = 64 - prefixBits
	t.starts = slices.Grow(t.starts[:0], 1<<prefixBits+1)[:1<<prefixBits+1]
	p := uint64(0)
	for i, r := range t.sorted {
		for q := keyPrefix(r.key, t.shift); p <= q; p++ {
			t.starts[p] = uint32(i)
		}
	}
	for ; p < uint64(len(t.starts)); p++ {
		t.starts[p] = uint32(len(t.sorted))
	}
}

// ascend calls fn with every row in key order, without changing the table.
func (t *rowTable[V]) ascend(fn func(idKey, V)) {
	add := t.recentSorted()
	i, j := 0, 0
	for i < len(t.sorted) || j < len(add) {
		if j >= len(add) || (i < len(t.sorted) && compareIDKeys(t.sorted[i].key, add[j].key) < 0) {
			fn(t.sorted[i].key, t.sorted[i].row)
			i++
		} else {
			fn(add[j].key, add[j].row)
			j++
		}
	}
}

// load replaces the rows with rows already in strictly increasing key
// order (a snapshot's), and reports whether they were.
func (t *rowTable[V]) load(rows []keyedRow[V]) bool {
	for i := 1; i < len(rows); i++ {
		if compareIDKeys(rows[i-1].key, rows[i].key) >= 0 {
			return false
		}
	}
	t.sorted = rows
	t.recent.clear()
	t.index()
	return true
}

func keyPrefix(k idKey, shift uint) uint64 {
	if shift >= 64 {
		return 0
	}
	return binary.BigEndian.Uint64(k[:8]) >> shift
}

func compareIDKeys(a, b idKey) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}
