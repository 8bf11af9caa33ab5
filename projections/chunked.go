package projections

// chunkLen is the length of every chunk of a chunked list but the first,
// which grows to it by doubling like a slice.
const chunkLen = 1 << 12

// chunked is an append-only list kept in chunks of chunkLen: growing it
// never copies what it holds. The log's event list and the histories of the
// busiest accounts (a bank, a fund) reach a million entries; as doubling
// slices they would copy and zero tens of megabytes on the way and leave as
// much garbage, a fifth of a rebuild's time. A short list is one small slice.
type chunked[T any] struct {
	Chunks [][]T
	N      int
}

// add appends v.
func (c *chunked[T]) add(v T) {
	if c.N < chunkLen {
		if len(c.Chunks) == 0 {
			c.Chunks = append(c.Chunks, nil)
		}
		c.Chunks[0] = append(c.Chunks[0], v)
	} else {
		if c.N%chunkLen == 0 {
			c.Chunks = append(c.Chunks, make([]T, 0, chunkLen))
		}
		last := len(c.Chunks) - 1
		c.Chunks[last] = append(c.Chunks[last], v)
	}
	c.N++
}

// at returns the i-th element.
func (c *chunked[T]) at(i int) *T {
	return &c.Chunks[i/chunkLen][i%chunkLen]
}

// all yields the elements in order.
func (c *chunked[T]) all(yield func(*T) bool) {
	for _, ch := range c.Chunks {
		for i := range ch {
			if !yield(&ch[i]) {
				return
			}
		}
	}
}
