package projections

import "testing"

// TestListLoans: a snapshot's loans are listed by their numbers; numbers
// that are not 0..n-1 once each are given again, in the order of the ids.
func TestListLoans(t *testing.T) {
	for _, tc := range []struct {
		name string
		nums map[string]int32
		want []string
	}{
		{"numbers kept", map[string]int32{"L2": 0, "L1": 1, "L3": 2}, []string{"L2", "L1", "L3"}},
		{"a number twice: given again by id", map[string]int32{"L2": 0, "L1": 0, "L3": 2}, []string{"L1", "L2", "L3"}},
		{"a number out of range: given again by id", map[string]int32{"L2": 7, "L1": 1, "L3": 2}, []string{"L1", "L2", "L3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newState()
			for id, n := range tc.nums {
				s.Loans[id] = &loan{ID: id, Num: n}
			}
			s.listLoans()
			for n, l := range s.loanList {
				if l.ID != tc.want[n] || l.Num != int32(n) {
					t.Errorf("got loan %d %s (Num %d), want %s", n, l.ID, l.Num, tc.want[n])
				}
			}
		})
	}
}
