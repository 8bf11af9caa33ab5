package projections

import (
	"slices"

	"github.com/hrss-ledger/ledger/domain"
)

// RegionTree lists every region with its parent, in the order the log
// first named them (the domain defines a parent before its children).
func (p *Projector) RegionTree() []domain.RegionNode {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]domain.RegionNode, len(p.s.Regions))
	for i, r := range p.s.Regions {
		out[i] = domain.RegionNode{Code: r.Code, Name: r.Name}
		if r.Parent >= 0 {
			out[i].ParentCode = p.s.Regions[r.Parent].Code
		}
	}
	return out
}

// FundIDs lists the funds, sorted.
func (p *Projector) FundIDs() []string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	ids := make([]string, 0, len(p.s.Funds))
	for id := range p.s.Funds {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Years lists the years some region has a target, a statistic or a counted
// figure in, oldest first: the years a progress screen can show.
func (p *Projector) Years() []int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	seen := map[int]bool{}
	for k := range p.s.Years {
		seen[int(k.Year)] = true
	}
	years := make([]int, 0, len(seen))
	for y := range seen {
		years = append(years, y)
	}
	slices.Sort(years)
	return years
}
