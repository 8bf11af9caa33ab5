package projections

import "unsafe"

// stringCache is one lane's memory of what it derived from the strings it
// met last: the node of a region code, the place of an indicator. Nearly
// every event names a region, and a map lookup hashes the code each time.
// Decoding shares one string per value (a sealed segment's table, a
// decoding worker's symbols), so a string's slot is picked by where its
// bytes lie, which costs no hashing, and checked by comparing the strings,
// which compares two equal pointers. A value met under another pointer
// just takes the slot over.
type stringCache[V any] [stringCacheSlots]cacheSlot[V]

type cacheSlot[V any] struct {
	key string
	val V
}

// stringCacheSlots is a power of two well above the regions of a
// province: the strings of one table lie side by side, in slots of their
// own, but those of several tables can land on the same slot.
const stringCacheSlots = 1024

// slot returns where key is or would be remembered.
func (c *stringCache[V]) slot(key string) *cacheSlot[V] {
	return &c[uintptr(unsafe.Pointer(unsafe.StringData(key)))>>3%stringCacheSlots]
}

// get returns what was put for key, if it is still there.
func (c *stringCache[V]) get(key string) (V, bool) {
	if e := c.slot(key); e.key == key && key != "" {
		return e.val, true
	}
	var zero V
	return zero, false
}

// put remembers v for key.
func (c *stringCache[V]) put(key string, v V) {
	if key != "" {
		*c.slot(key) = cacheSlot[V]{key, v}
	}
}
