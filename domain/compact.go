package domain

import (
	"crypto/sha256"
	"math"
	"strings"

	"github.com/shopspring/decimal"
)

// The compact forms of the write-side state. A million placements name a
// hundred thousand people in a few dozen regions: each row keeps a 4-byte
// symbol for such a string instead of its own copy, and an amount as int64
// fen instead of a decimal with a big.Int inside. The tables of symbols only
// grow; a symbol interned by a batch that is rolled back stays, unused and
// harmless, so Mark and Rollback need not journal them.

// symbol stands for an interned string; 0 is the empty string.
type symbol uint32

// names interns strings.
type names struct {
	ids   map[string]symbol
	names []string
}

func newNames() names {
	return names{ids: map[string]symbol{"": 0}, names: []string{""}}
}

// intern returns name's symbol, adding name when it is new.
func (s *names) intern(name string) symbol {
	if id, ok := s.ids[name]; ok {
		return id
	}
	assert(len(s.names) < math.MaxUint32, "more than %d symbols", uint32(math.MaxUint32))
	id := symbol(len(s.names))
	// A copy, so that a symbol never keeps alive a larger string it was cut from.
	name = strings.Clone(name)
	s.ids[name] = id
	s.names = append(s.names, name)
	return id
}

// lookup returns name's symbol without adding it: Decide does not change the state.
func (s *names) lookup(name string) (symbol, bool) {
	id, ok := s.ids[name]
	return id, ok
}

// name returns the string a symbol stands for.
func (s *names) name(id symbol) string { return s.names[id] }

// canon returns the one shared copy of name, for the kinds and codes kept as strings.
func (s *names) canon(name string) string { return s.names[s.intern(name)] }

// indicatorSet stands for an interned list of indicators; 0 is the nil list.
type indicatorSet uint32

// indicatorSets interns the lists of indicators that placements count for:
// there are only as many as the rows of the counting table allow.
type indicatorSets struct {
	ids  map[string]indicatorSet
	sets [][]Indicator // never mutated: handed out as copies
}

func newIndicatorSets() indicatorSets {
	return indicatorSets{ids: map[string]indicatorSet{}, sets: [][]Indicator{nil}}
}

// maxIndicatorKeyBytes is the stack buffer for a list's key; longer keys
// still work, they only allocate.
const maxIndicatorKeyBytes = 256

// intern returns the list's id. A nil list and an empty one differ, because
// they encode differently (null and []).
func (t *indicatorSets) intern(list []Indicator) indicatorSet {
	if list == nil {
		return 0
	}
	var buf [maxIndicatorKeyBytes]byte
	key := append(buf[:0], 1) // non-nil, even when empty
	for _, indicator := range list {
		key = append(append(key, indicator...), 0)
	}
	if id, ok := t.ids[string(key)]; ok {
		return id
	}
	assert(len(t.sets) < math.MaxUint32, "more than %d indicator sets", uint32(math.MaxUint32))
	id := indicatorSet(len(t.sets))
	t.ids[string(key)] = id
	t.sets = append(t.sets, append([]Indicator{}, list...))
	return id
}

// list returns a copy of the list, so that no event aliases the state.
func (t *indicatorSets) list(id indicatorSet) []Indicator {
	set := t.sets[id]
	if set == nil {
		return nil
	}
	return append([]Indicator{}, set...)
}

// fen is an amount in fen (0.01 CNY). The amounts kept as fen are bounded by
// a checked amount (below 10^15 yuan, so 10^17 fen), far inside int64, and
// have at most 2 decimal places: the conversion is exact both ways.
type fen int64

// maxFenDigits bounds the digits of an amount in fen: 10^17 < 2^63.
const maxFenDigits = maxMoneyIntegerDigits + moneyScale

// toFen converts an amount from an event; a recorded event always holds
// money (IsMoney), anything else is a programmer error.
func toFen(m decimal.Decimal) fen {
	// The usual case, "500" or "499.5", without touching a big.Int.
	if exp := m.Exponent(); exp >= -moneyScale && exp <= 0 && m.NumDigits()+int(exp+moneyScale) <= maxFenDigits {
		return fen(m.CoefficientInt64() * pow10[exp+moneyScale])
	}
	scaled := m.Shift(moneyScale)
	assert(scaled.IsInteger() && scaled.NumDigits() <= maxFenDigits, "amount %s is not money", m)
	return fen(scaled.IntPart())
}

var pow10 = [moneyScale + 1]int64{1, 10, 100}

// decimal returns the amount as a decimal, for rules and for the API.
func (f fen) decimal() decimal.Decimal { return decimal.New(int64(f), -moneyScale) }

// addFen adds two amounts that are each bounded as fen says, so their sum
// cannot overflow; the assertion documents it.
func addFen(a, b fen) fen {
	sum := a + b
	assert((b >= 0) == (sum >= a), "fen overflow: %d + %d", a, b)
	return sum
}

// idKey stands for the id of a payment, placement or training: the first
// 128 bits of its SHA-256. These tables hold a row per event of the
// commonest kinds, ten million in a province's log; keyed by the id string
// each row also kept a string header and a separate allocation of the id,
// full of pointers the garbage collector had to follow. The rules only ever
// look a row up by its id, never list the ids, so the digest serves. It is
// SHA-256, not a faster hash, because ids come from clients: no one can
// choose an id whose key is another's (a reversal that lands on someone
// else's payment), and a chance collision among 10^10 ids has odds below
// 10^-18.
type idKey [16]byte

func idKeyOf(id string) idKey {
	sum := sha256.Sum256([]byte(id))
	return idKey(sum[:16])
}
