package projections

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// subscriber is one in-process listener (an SSE connection).
type subscriber struct {
	views  map[string]bool
	region string
	ch     chan Change
}

// Subscribe returns the changes of the named views (progress, portfolio,
// funds, loans; none named: all), only those of region when it is not
// empty, until cancel is called. A subscriber that falls more than
// subscriberBuffer changes behind loses the excess; it can re-query the view.
func (p *Projector) Subscribe(views []string, region string) (<-chan Change, func()) {
	sub := &subscriber{views: map[string]bool{}, region: region, ch: make(chan Change, subscriberBuffer)}
	for _, v := range views {
		sub.views[v] = true
	}
	p.subsMu.Lock()
	p.subs[sub] = struct{}{}
	p.subsMu.Unlock()
	cancel := func() {
		p.subsMu.Lock()
		defer p.subsMu.Unlock()
		if _, ok := p.subs[sub]; ok {
			delete(p.subs, sub)
			close(sub.ch)
		}
	}
	return sub.ch, cancel
}

func (p *Projector) fanOut(c Change) {
	p.subsMu.Lock()
	defer p.subsMu.Unlock()
	for sub := range p.subs {
		if (len(sub.views) > 0 && !sub.views[c.View]) || (sub.region != "" && sub.region != c.Region) {
			continue
		}
		select {
		case sub.ch <- c:
		default:
		}
	}
}

// nudge wakes the publisher; called with the write lock held.
func (p *Projector) nudge() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// startPublishing turns on change tracking and starts the publisher. With a
// Publisher or LatestStore configured, every progress, portfolio and fund
// view is published once first, so that late joiners find a value.
func (p *Projector) startPublishing(ctx context.Context) {
	p.mu.Lock()
	p.s.dirty = newDirty()
	if p.cfg.Publisher != nil || p.cfg.Latest != nil {
		p.s.markAll()
		p.nudge()
	}
	p.mu.Unlock()
	go p.publishLoop(ctx)
}

// markAll marks every progress, portfolio and fund view as changed.
func (s *state) markAll() {
	for k := range s.Years {
		s.dirty.mark(viewProgress, s.Regions[k.Node].Code, int(k.Year))
	}
	for _, r := range s.Regions {
		s.dirty.mark(viewPortfolio, r.Code, 0)
	}
	for id := range s.Funds {
		s.dirty.mark(viewFunds, id, 0)
	}
}

func (p *Projector) publishLoop(ctx context.Context) {
	timer := time.NewTimer(publishInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		// Let a burst finish, so that it becomes one update per view.
		timer.Reset(publishInterval)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		p.publishDirty()
	}
}

// publishDirty renders every changed view and sends it to the in-process
// subscribers, the Publisher and the LatestStore.
func (p *Projector) publishDirty() {
	p.mu.Lock()
	d := p.s.dirty
	p.s.dirty = newDirty()
	p.mu.Unlock()
	keys := make([]changeKey, 0, len(d.keys))
	for k := range d.keys {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b changeKey) int {
		if c := strings.Compare(a.View, b.View); c != 0 {
			return c
		}
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return a.Year - b.Year
	})
	p.mu.RLock()
	changes := make([]Change, 0, len(keys))
	for _, k := range keys {
		if c, ok := p.s.render(k); ok {
			changes = append(changes, c)
		}
	}
	p.mu.RUnlock()
	for _, c := range changes {
		p.fanOut(c)
		if p.cfg.Publisher != nil {
			if err := p.cfg.Publisher.Publish(c.Subject(), c.Data); err != nil {
				p.log.Warn("projections: publish", "subject", c.Subject(), "err", err)
			}
		}
		if p.cfg.Latest != nil {
			if err := p.cfg.Latest.Put(c.LatestKey(), c.Data); err != nil {
				p.log.Warn("projections: latest value", "key", c.LatestKey(), "err", err)
			}
		}
	}
}

// render computes a changed view's current value.
func (s *state) render(k changeKey) (Change, bool) {
	c := Change{View: k.View, Key: k.Key, Year: k.Year, Position: s.Pos, Region: k.Key}
	var v any
	var err error
	switch k.View {
	case viewProgress:
		v, err = s.Progress(k.Key, k.Year, "", "")
	case viewPortfolio:
		v, err = s.Portfolio(k.Key, 0, "")
	case viewFunds:
		var f any
		f, err = s.Fund(k.Key, "")
		if err == nil {
			c.Region = s.Funds[k.Key].Region
		}
		v = f
	case viewLoans:
		var l any
		l, err = s.Loan(k.Key, "")
		if err == nil {
			c.Region = s.Regions[s.Loans[k.Key].Node].Code
		}
		v = l
	}
	if err != nil {
		return Change{}, false
	}
	data, err := json.Marshal(v)
	if err != nil {
		return Change{}, false
	}
	c.Data = data
	return c, true
}
