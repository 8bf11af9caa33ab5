package domain

import (
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRecentRowsUnderCollisions runs random puts and deletes on keys that
// share long prefixes (so probes run long, past the last home slot, and
// deletes must move rows back), clearing now and then, against a map.
func TestRecentRowsUnderCollisions(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	key := func() idKey {
		var k idKey
		// Few distinct prefixes, most of them near the top of the range:
		// whole runs share a home slot and the last ones spill past it.
		binary.BigEndian.PutUint64(k[:8], ^uint64(0)-uint64(r.IntN(8))<<40)
		binary.BigEndian.PutUint64(k[8:], r.Uint64()%200)
		return k
	}
	table, want := newRecentRows[int](), map[idKey]int{}
	for step := range 40000 {
		switch op := r.IntN(1000); {
		case op < 1:
			table.clear()
			clear(want)
		case op < 400:
			k := key()
			table.delete(k)
			delete(want, k)
		default:
			k := key()
			table.put(k, step)
			want[k] = step
		}
		k := key()
		got, ok := table.get(k)
		if w, wok := want[k]; got != w || ok != wok {
			t.Fatalf("step %d: get = %d, %v; want %d, %v", step, got, ok, w, wok)
		}
	}
	if table.len() != len(want) {
		t.Fatalf("len %d, want %d", table.len(), len(want))
	}
	rows := table.sorted(nil)
	keys := slices.SortedFunc(maps.Keys(want), compareIDKeys)
	if len(rows) != len(keys) {
		t.Fatalf("sorted: %d rows, want %d", len(rows), len(keys))
	}
	for i, row := range rows {
		if row.key != keys[i] || row.row != want[row.key] {
			t.Fatalf("sorted row %d: %x=%d, want %x=%d", i, row.key, row.row, keys[i], want[keys[i]])
		}
	}
	if len(table.slots) <= 1<<table.bits+recentSpare {
		t.Errorf("no probe ran past the spare slots: the test no longer covers extending them")
	}
}
