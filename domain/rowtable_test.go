package domain

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// TestRowTableActsAsAJournaledMap runs random sets, marks and rollbacks on a
// rowTable and on a plain map with copies at each mark, enough rows for
// many merges, and compares every lookup and the whole content.
func TestRowTableActsAsAJournaledMap(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, seed))
			table := newRowTable[int]()
			want, marked := map[idKey]int{}, map[idKey]int(nil)
			keys := make([]idKey, 0, 40000)
			for step := range 60000 {
				switch op := r.IntN(100); {
				case op < 1 && marked != nil:
					table.rollback()
					want = maps.Clone(marked)
				case op < 2:
					table.mark()
					marked = maps.Clone(want)
				case op < 30 || len(keys) == 0:
					k := idKeyOf(fmt.Sprint(seed, step))
					keys = append(keys, k)
					table.set(k, step)
					want[k] = step
				case op < 60:
					k := idKeyOf(fmt.Sprint(seed, step))
					keys = append(keys, k)
					if !table.add(k, step) {
						t.Fatalf("step %d: add of a new key refused", step)
					}
					want[k] = step
				case op < 65:
					k := keys[r.IntN(len(keys))]
					_, exists := want[k]
					if added := table.add(k, step); added == exists {
						t.Fatalf("step %d: add of a key that exists (%v) returned %v", step, exists, added)
					}
					if !exists {
						want[k] = step
					}
				default:
					k := keys[r.IntN(len(keys))]
					table.set(k, -step)
					want[k] = -step
				}
				k := keys[r.IntN(len(keys))]
				got, ok := table.get(k)
				if w, wok := want[k]; got != w || ok != wok {
					t.Fatalf("step %d: get = %d, %v; want %d, %v", step, got, ok, w, wok)
				}
			}
			checkRows(t, &table, want)
			if len(table.sorted) == 0 {
				t.Error("no merge happened: the test no longer covers the sorted array")
			}
		})
	}
}

func checkRows(t *testing.T, table *rowTable[int], want map[idKey]int) {
	t.Helper()
	got := map[idKey]int{}
	var last *idKey
	table.ascend(func(k idKey, v int) {
		if last != nil && compareIDKeys(*last, k) >= 0 {
			t.Fatalf("ascend out of order at %x", k)
		}
		last = &k
		got[k] = v
	})
	if !maps.Equal(got, want) || table.len() != len(want) {
		t.Fatalf("rows: %d, want %d (len %d)", len(got), len(want), table.len())
	}
}
