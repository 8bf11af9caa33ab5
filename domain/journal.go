package domain

// table is a map whose changes can be undone back to the last mark. While
// journaling, every set or delete first records the entry's old value (or its
// absence), so Rollback costs one map write per touched entry, not a copy of
// the state. Values are stored by value and never mutated in place: Evolve
// reads a value, changes the copy and sets it back, and slices inside values
// are copied before they grow.
type table[K comparable, V any] struct {
	rows       map[K]V
	journal    []undo[K, V]
	journaling bool
}

type undo[K comparable, V any] struct {
	key     K
	old     V
	existed bool
}

func newTable[K comparable, V any]() table[K, V] {
	return table[K, V]{rows: make(map[K]V)}
}

func (t *table[K, V]) get(k K) (V, bool) {
	v, ok := t.rows[k]
	return v, ok
}

func (t *table[K, V]) has(k K) bool {
	_, ok := t.rows[k]
	return ok
}

func (t *table[K, V]) set(k K, v V) {
	if t.journaling {
		old, existed := t.rows[k]
		t.journal = append(t.journal, undo[K, V]{key: k, old: old, existed: existed})
	}
	t.rows[k] = v
}

// mark starts a new journal: the current rows become the state Rollback restores.
func (t *table[K, V]) mark() {
	clear(t.journal)
	t.journal = t.journal[:0]
	t.journaling = true
}

// rollback undoes every change since the last mark, newest first.
func (t *table[K, V]) rollback() {
	for i := len(t.journal) - 1; i >= 0; i-- {
		u := t.journal[i]
		if u.existed {
			t.rows[u.key] = u.old
		} else {
			delete(t.rows, u.key)
		}
	}
	clear(t.journal)
	t.journal = t.journal[:0]
}

// journaled is what Mark and Rollback need of every table.
type journaled interface {
	mark()
	rollback()
}
