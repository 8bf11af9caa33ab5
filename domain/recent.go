package domain

import "encoding/binary"

// recentRows holds a rowTable's rows not yet merged into its sorted array:
// a hash table with linear probing whose home slot for a key is its top
// bits. The keys are digests, so uniform, and no hashing is needed; and as
// the table never wraps around (a probe that would run off its end grows it
// instead), its slots hold the keys almost in order: reading them out
// slot by slot and sorting the few that probing displaced gives the sorted
// run a merge needs, where a map's rows would need a full sort.
//
// A slot is in use when its generation is the table's, so emptying the
// table (after every merge) is one increment, not a pass over the slots.
type recentRows[V any] struct {
	slots []recentSlot[V] // 2^bits home slots, then spare ones for the probes of the last
	bits  uint
	gen   uint32
	n     int
}

type recentSlot[V any] struct {
	key idKey
	gen uint32
	row V
}

// Tuning of recentRows.
const (
	minRecentBits  = 10
	recentSpare    = 64 // slots past the last home slot, for its probes
	recentLoadPcnt = 50 // grow past this fill, in percent of the home slots
)

func newRecentRows[V any]() recentRows[V] {
	t := recentRows[V]{gen: 1}
	t.resize(minRecentBits)
	return t
}

func (t *recentRows[V]) len() int { return t.n }

func (t *recentRows[V]) resize(b uint) {
	t.bits = b
	t.slots = make([]recentSlot[V], 1<<b+recentSpare)
}

func (t *recentRows[V]) home(k idKey) int {
	return int(binary.BigEndian.Uint64(k[:8]) >> (64 - t.bits))
}

// lookup returns the slot holding k, or the empty slot where k would go
// (-1 if the probe runs off the end).
func (t *recentRows[V]) lookup(k idKey) (i int, found bool) {
	for i = t.home(k); i < len(t.slots); i++ {
		s := &t.slots[i]
		if s.gen != t.gen {
			return i, false
		}
		if s.key == k {
			return i, true
		}
	}
	return -1, false
}

func (t *recentRows[V]) get(k idKey) (V, bool) {
	if i, ok := t.lookup(k); ok {
		return t.slots[i].row, true
	}
	var zero V
	return zero, false
}

// put sets k's row, adding k if new.
func (t *recentRows[V]) put(k idKey, v V) {
	i, found := t.lookup(k)
	if found {
		t.slots[i].row = v
		return
	}
	if (t.n+1)*100 > (1<<t.bits)*recentLoadPcnt {
		t.grow()
		i, _ = t.lookup(k)
	}
	if i < 0 {
		// The probe ran off the end: more spare slots. Doubling instead
		// would let keys crafted to share a long prefix blow the table
		// up; this way they cost only their own probes.
		i = len(t.slots)
		t.slots = append(t.slots, make([]recentSlot[V], recentSpare)...)
	}
	t.slots[i] = recentSlot[V]{key: k, gen: t.gen, row: v}
	t.n++
}

// grow doubles the home slots and puts every row back.
func (t *recentRows[V]) grow() {
	old, gen := t.slots, t.gen
	t.resize(t.bits + 1)
	t.n = 0
	for i := range old {
		if old[i].gen == gen {
			t.put(old[i].key, old[i].row)
		}
	}
}

// delete removes k, then moves back the rows after it that probing had
// pushed past their home slot, so that no lookup stops short of them.
func (t *recentRows[V]) delete(k idKey) {
	i, found := t.lookup(k)
	if !found {
		return
	}
	t.n--
	for j := i + 1; ; j++ {
		if j == len(t.slots) || t.slots[j].gen != t.gen {
			t.slots[i].gen = 0
			return
		}
		if h := t.home(t.slots[j].key); h <= i {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
}

// clear empties the table; the next rows find every slot free.
func (t *recentRows[V]) clear() {
	t.n = 0
	if t.gen++; t.gen == 0 { // after 2^32 clears, old generations could look current
		clear(t.slots)
		t.gen = 1
	}
}

// sorted appends the rows to dst in key order: slot order is key order
// but for rows probing displaced, which an insertion sort moves the few
// places they are out.
func (t *recentRows[V]) sorted(dst []keyedRow[V]) []keyedRow[V] {
	start := len(dst)
	for i := range t.slots {
		if s := &t.slots[i]; s.gen == t.gen {
			dst = append(dst, keyedRow[V]{s.key, s.row})
		}
	}
	rows := dst[start:]
	for i := 1; i < len(rows); i++ {
		if compareIDKeys(rows[i-1].key, rows[i].key) > 0 {
			r := rows[i]
			j := i
			for ; j > 0 && compareIDKeys(rows[j-1].key, r.key) > 0; j-- {
				rows[j] = rows[j-1]
			}
			rows[j] = r
		}
	}
	return dst
}
