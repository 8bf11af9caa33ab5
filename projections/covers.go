package projections

import (
	"encoding/hex"
	"slices"
	"sort"
	"strings"

	"github.com/hrss-ledger/ledger/domain"
)

// Real-name counting: a person counts once per indicator, region and year,
// from the earliest of their placements (or trainings) under the region
// that stands on a date, whatever the number of placements. Under each
// region the person's count is the step function "the union of their
// covers' intervals is non-empty": +1 where the union starts, -1 where it
// ends. A change to a person's covers moves a region's actual by the
// difference between that function before and after, day by day.

// person returns the index of a beneficiary, adding them when new.
func (s *state) person(id string) int32 {
	s.indexPersons()
	k, packed := packID(id)
	if packed {
		if i, ok := s.PersonKeys[k]; ok {
			return i
		}
	} else if i, ok := s.PersonIdx[id]; ok {
		return i
	}
	i := int32(len(s.Persons))
	if packed {
		s.PersonKeys[k] = i
	} else {
		s.PersonIdx[strings.Clone(id)] = i // kept: see segmentReader.reset
	}
	s.addPerson(k)
	s.personsIndexed = len(s.Persons)
	return i
}

// addPerson appends a person of key k. Persons doubles when full: append
// grows a slice this large by a quarter, which copied it about five
// times over in a rebuild.
func (s *state) addPerson(k idKey) {
	if len(s.Persons) == cap(s.Persons) {
		s.Persons = slices.Grow(s.Persons, len(s.Persons))
	}
	s.Persons = append(s.Persons, personCovers{id: k})
}

// hintedPerson is person, trying first the number *hint - 1 (a sealed
// segment's: checked against the person's key, so that a wrong hint costs
// the lookup it was to save, never a placement counted for another person;
// or the next number, a new person, checked later: index.go), and
// recording in *hint the number found + 1, for the sealer.
func (s *state) hintedPerson(id string, hint *int32) int32 {
	if h := int(*hint) - 1; h >= 0 && h <= len(s.Persons) {
		k, ok := packID(id)
		switch {
		case !ok:
		case h < len(s.Persons) && s.Persons[h].id == k:
			return int32(h)
		case h == len(s.Persons):
			// A new person, by the segment: indexPersons checks it is.
			s.addPerson(k)
			return int32(h)
		}
	}
	p := s.person(id)
	*hint = p + 1
	return p
}

// idKey is an id packed into a map key that holds it inline: a lookup
// then compares the key in the map's own memory instead of following a
// string to wherever it was allocated, a cache miss per placement of a
// rebuild. The last byte tells the forms apart: idRaw for an id of at most
// idKeyBytes bytes, as is (ids never contain a zero byte, so the padding is
// unambiguous); idHex for a pseudonym (domain.Pseudonym: 64 lowercase hex
// digits), as the 32 bytes they spell.
type idKey [idKeyBytes + 1]byte

const (
	idKeyBytes = 32
	idRaw      = 1
	idHex      = 2
)

// packID packs an id; ok is false for one of neither form.
func packID(id string) (k idKey, ok bool) {
	switch {
	case len(id) <= idKeyBytes:
		if strings.IndexByte(id, 0) >= 0 {
			return k, false
		}
		copy(k[:], id)
		k[idKeyBytes] = idRaw
		return k, true
	case len(id) == 2*idKeyBytes:
		var bad byte // any digit's 0x10: one test after the loop, not two per byte
		for i := range idKeyBytes {
			hi, lo := hexValue[id[2*i]], hexValue[id[2*i+1]]
			bad |= hi | lo
			k[i] = hi<<4 | lo&0x0f
		}
		if bad&0x10 != 0 {
			return idKey{}, false
		}
		k[idKeyBytes] = idHex
		return k, true
	}
	return k, false
}

// hexValue is each byte's value as a lowercase hex digit (the form
// hex.EncodeToString writes, so that each id has one key), 0x10 for a byte
// that is none.
var hexValue = func() (t [256]byte) {
	for c := range t {
		t[c] = 0x10
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
	}
	return t
}()

// unpackID is the id packID packed.
func unpackID(k idKey) string {
	if k[idKeyBytes] == idHex {
		return hex.EncodeToString(k[:idKeyBytes])
	}
	return strings.TrimRight(string(k[:idKeyBytes]), "\x00")
}

// keyRange returns the bounds of the person's covers of one year and
// indicator. It runs once or twice per placement of a rebuild, so the
// searches are written out rather than through sort.Search's closures.
func (p *personCovers) keyRange(year int32, ind uint8) (lo, hi int) {
	cs := p.Covers
	key := coverKey(year, ind)
	lo, hi = 0, len(cs)
	for lo < hi { // first cover whose key is not below
		m := int(uint(lo+hi) >> 1)
		if coverKey(int32(cs[m].Year), cs[m].Ind) < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	end := len(cs)
	for hi < end { // first cover whose key is above
		m := int(uint(hi+end) >> 1)
		if coverKey(int32(cs[m].Year), cs[m].Ind) <= key {
			hi = m + 1
		} else {
			end = m
		}
	}
	return lo, hi
}

// coverKey orders covers by year, then indicator.
func coverKey(year int32, ind uint8) int64 { return int64(year)<<8 | int64(ind) }

// key returns the person's covers of one year and indicator, by start.
func (p *personCovers) key(year int32, ind uint8) []cover {
	lo, hi := p.keyRange(year, ind)
	return p.Covers[lo:hi]
}

// recordPlacement counts a person for each indicator of a placement (or a
// training), by real name: once per person, indicator, region and year.
func (s *state) recordPlacement(p int32, pos uint64, d day, regionCode, id string, inds []domain.Indicator) {
	n := s.cachedNode(&s.coverRegions, regionCode)
	year := int32(d.year())
	assert(year >= 0 && year <= maxYear, "a placement's year has four digits")
	hash := idHash(id)
	for _, ind := range inds {
		s.addCover(p, cover{Year: int16(year), Ind: s.coverIndicator(ind), Node: n, From: d, To: maxDay, Pos: pos, Placement: hash})
	}
}

// addCover counts one more placement (or training) of a person.
func (s *state) addCover(p int32, c cover) {
	ps := &s.Persons[p]
	lo, hi := ps.keyRange(int32(c.Year), c.Ind)
	// After the covers that start on or before it; the order among equal
	// starts does not matter to the union.
	at := lo + sort.Search(hi-lo, func(i int) bool { return ps.Covers[lo+i].From > c.From })
	ps.Covers = slices.Insert(ps.Covers, at, c)
	if hi == lo {
		// The common case: a person's first placement for this indicator and year.
		s.addCount(c.Node, int(c.Year), c.Ind, c.From, 1)
		return
	}
	if openBefore(ps.Covers[lo:at], c.Node) {
		return
	}
	spans := s.spans[:0]
	for k, cv := range ps.Covers[lo : hi+1] {
		sp := span{node: cv.Node, from: cv.From, toBefore: cv.To, toAfter: cv.To}
		if lo+k == at {
			sp.toBefore = sp.from // not there before: an empty interval
		}
		spans = append(spans, sp)
	}
	s.spans = spans
	s.moveCounts(c.Node, int32(c.Year), c.Ind, spans)
}

// addCount is addActual for the covers lane: delta persons counted for
// indicator i under a region and all its ancestors.
func (s *state) addCount(n int32, year int, i uint8, d day, delta int64) {
	for ; n >= 0; n = s.Regions[n].Parent {
		if ry := s.coverYear(n, year); ry.Actual[i].add1(d, delta) {
			s.coverOpened.actuals = append(s.coverOpened.actuals, actualRef{ry, i})
		}
		s.markRegion(viewProgress, n, year)
	}
}

// openBefore reports whether a standing cover in the same region starts on
// or before a new one (cs: the covers that start on or before it): then the
// person already counts from then on under the region and every ancestor,
// and the new cover moves no count. A person placed again and again in one
// place costs little this way.
func openBefore(cs []cover, node int32) bool {
	for k := range cs {
		if cs[k].Node == node && cs[k].To == maxDay {
			return true
		}
	}
	return false
}

// coverIndicator is indicatorIdx[ind], through the covers lane's cache.
func (s *state) coverIndicator(ind domain.Indicator) uint8 {
	if i, ok := s.coverInds.get(string(ind)); ok {
		return i
	}
	i := indicatorIdx[ind]
	s.coverInds.put(string(ind), i)
	return i
}

// reversePlacement stops a placement counting from the reversal date.
func (s *state) reversePlacement(p int32, d day, e domain.PlacementReversed) {
	n := s.cachedNode(&s.coverRegions, e.RegionCode)
	year := int32(e.PlacementDate.Year())
	id := idHash(e.PlacementID)
	for _, ind := range e.Indicators {
		i := s.coverIndicator(ind)
		ps := &s.Persons[p]
		lo, hi := ps.keyRange(year, i)
		spans := s.spans[:0]
		for k := lo; k < hi; k++ {
			c := &ps.Covers[k]
			sp := span{node: c.Node, from: c.From, toBefore: c.To, toAfter: c.To}
			// The earliest reversal wins: a replay up to any date after
			// it sees the placement reversed.
			if c.Placement == id && d < c.To {
				c.To, sp.toAfter = d, d
			}
			spans = append(spans, sp)
		}
		s.spans = spans
		s.moveCounts(n, year, i, spans)
	}
}

// span is one cover's interval before and after a change, with the place
// (in the chain of ancestors being recounted) of the lowest ancestor it lies under.
type span struct {
	node              int32
	low               int32
	from              day
	toBefore, toAfter day
}

// step is a change of a count on a day.
type step struct {
	day   day
	delta int64
}

// moveCounts applies, under n and each ancestor, the difference between the
// person's counting before and after a change of their covers of one year
// and indicator (spans, sorted by start). It costs O(covers × depth), with
// no sorting and no allocation once the scratch buffers have grown.
func (s *state) moveCounts(n, year int32, ind uint8, spans []span) {
	chain := s.chain[:0]
	for a := n; a >= 0; a = s.Regions[a].Parent {
		chain = append(chain, a)
	}
	s.chain = chain
	for i := range spans {
		spans[i].low = s.lowestIn(chain, spans[i].node)
	}
	for j, a := range chain {
		s.stepsBefore = unionSteps(spans, int32(j), false, s.stepsBefore[:0])
		s.stepsAfter = unionSteps(spans, int32(j), true, s.stepsAfter[:0])
		s.addDiff(a, int(year), ind, s.stepsBefore, s.stepsAfter)
		s.markRegion(viewProgress, a, int(year))
	}
}

// lowestIn returns the place in chain of the lowest ancestor (or self) of
// node x, len(chain) when x lies under none of them.
func (s *state) lowestIn(chain []int32, x int32) int32 {
	for y := x; y >= 0; y = s.Regions[y].Parent {
		for j, a := range chain {
			if a == y {
				return int32(j)
			}
		}
	}
	return int32(len(chain))
}

// unionSteps appends the step function of the union of the intervals of
// the spans under chain[j] (before or after the change): +1 where a
// component starts, -1 where it ends. Spans come sorted by start, so the
// steps come out in increasing day order.
func unionSteps(spans []span, j int32, after bool, out []step) []step {
	var from, to day
	open := false
	for i := range spans {
		sp := &spans[i]
		end := sp.toBefore
		if after {
			end = sp.toAfter
		}
		if sp.low > j || sp.from >= end {
			continue
		}
		if open && sp.from <= to {
			to = max(to, end)
			continue
		}
		if open {
			out = appendComponent(out, from, to)
		}
		from, to, open = sp.from, end, true
	}
	if open {
		out = appendComponent(out, from, to)
	}
	return out
}

func appendComponent(out []step, from, to day) []step {
	out = append(out, step{from, 1})
	if to != maxDay {
		out = append(out, step{to, -1})
	}
	return out
}

// addDiff adds after - before, merged by day and without zero steps, to an
// indicator of region a.
func (s *state) addDiff(a int32, year int, ind uint8, before, after []step) {
	i, k := 0, 0
	for i < len(before) || k < len(after) {
		var d day
		var v int64
		switch {
		case k == len(after) || (i < len(before) && before[i].day < after[k].day):
			d, v = before[i].day, -before[i].delta
			i++
		case i == len(before) || after[k].day < before[i].day:
			d, v = after[k].day, after[k].delta
			k++
		default:
			d, v = after[k].day, after[k].delta-before[i].delta
			i++
			k++
		}
		if v != 0 {
			if ry := s.coverYear(a, year); ry.Actual[ind].add1(d, v) {
				s.coverOpened.actuals = append(s.coverOpened.actuals, actualRef{ry, ind})
			}
		}
	}
}

// maxYear is the latest year a domain.Date can hold (YYYY-MM-DD).
const maxYear = 9999

// idHash is FNV-1a of an id: covers keep it instead of the id so that they
// hold no pointers (cheap for the garbage collector); ids are compared only
// among one person's placements for one indicator and year.
func idHash(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}
