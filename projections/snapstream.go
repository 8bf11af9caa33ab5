package projections

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"hash/crc32"
	"io"
)

// The body of a snapshot is a stream of gob messages, none larger than
// about maxMessageBytes (a single record bigger than that, such as one
// person's covers, is one message): gob's decoder reads a whole message
// into one buffer before decoding it, so the state written as one message
// (692 MB at 10M events) cost its size again on load, and as much on write.
// The stream is a header with the position, hash and counts, then every
// list in batches, the chunked lists chunk by chunk into their final
// form. Lookup maps derived from a list (AccountIdx) are rebuilt, not stored.
const (
	maxMessageItems = chunkLen
	maxMessageBytes = 1 << 20
	// raiseEveryMessages spaces the load's raises of the GC's memory limit
	// (runner.go), which follows the growing views as during a catch-up.
	raiseEveryMessages = 256
)

// snapshotHeader is the stream's first message.
type snapshotHeader struct {
	Pos       uint64
	Hash      [32]byte
	LastDay   day
	TypeNames []string
	// Counts of the lists that follow, in this order.
	Docs, Regions, RegionIdx, Years, Events, Accounts, Banks int
	Funds, Loans, PersonKeys, PersonIdx, Persons, Subsidies  int
}

// pair is one entry of a map.
type pair[K comparable, V any] struct {
	K K
	V V
}

// Estimated encoded sizes, in bytes, of the records batched by weight.
const (
	seriesRowBytes = 8
	entryBytes     = 12
	coverBytes     = 24
	loanEventBytes = 24
	recordBytes    = 32
)

func seriesBytes(s *series) int { return recordBytes + len(s.Cum)*seriesRowBytes }

func regionYearBytes(ry *regionYear) int {
	n := recordBytes
	for i := range ry.Actual {
		n += seriesBytes(&ry.Actual[i]) + (len(ry.Targets[i])+len(ry.Stats[i]))*recordBytes
	}
	return n
}

// streamWriter encodes messages, keeping the first error.
type streamWriter struct {
	enc *gob.Encoder
	err error
}

func (w *streamWriter) put(v any) {
	if w.err == nil {
		w.err = w.enc.Encode(v)
	}
}

// batch collects records into messages of at most maxMessageItems records
// and about maxMessageBytes.
type batch[T any] struct {
	w     *streamWriter
	items []T
	bytes int
}

func (b *batch[T]) add(v T, bytes int) {
	b.items = append(b.items, v)
	b.bytes += bytes
	if len(b.items) >= maxMessageItems || b.bytes >= maxMessageBytes {
		b.flush()
	}
}

func (b *batch[T]) flush() {
	if len(b.items) > 0 {
		b.w.put(b.items)
	}
	clear(b.items)
	b.items, b.bytes = b.items[:0], 0
}

// putMap writes a map's entries in batches.
func putMap[K comparable, V any](w *streamWriter, m map[K]V, bytes func(V) int) {
	b := batch[pair[K, V]]{w: w}
	for k, v := range m {
		b.add(pair[K, V]{k, v}, recordBytes+bytes(v))
	}
	b.flush()
}

// putSlice writes a list in batches.
func putSlice[T any](w *streamWriter, list []T, bytes func(*T) int) {
	b := batch[T]{w: w}
	for i := range list {
		b.add(list[i], bytes(&list[i]))
	}
	b.flush()
}

// putChunks writes a chunked list one chunk a message.
func putChunks[T any](w *streamWriter, c *chunked[T]) {
	for _, ch := range c.Chunks {
		w.put(ch)
	}
}

func fixed[T any](bytes int) func(T) int { return func(T) int { return bytes } }

// encodeState writes the state's message stream after its header.
func encodeState(out io.Writer, s *state) error {
	if err := putHeader(out, snapshotHeader{Pos: s.Pos, Hash: s.Hash, LastDay: s.LastDay, TypeNames: s.TypeNames,
		Docs: len(s.Docs), Regions: len(s.Regions), RegionIdx: len(s.RegionIdx), Years: len(s.Years),
		Events: s.Events.N, Accounts: s.Accounts.N, Banks: len(s.BankIdx), Funds: len(s.Funds),
		Loans: len(s.Loans), PersonKeys: len(s.PersonKeys), PersonIdx: len(s.PersonIdx),
		Persons: len(s.Persons), Subsidies: s.Subsidies.N}); err != nil {
		return err
	}
	w := &streamWriter{enc: gob.NewEncoder(out)}
	putSlice(w, s.Docs, func(d *string) int { return len(*d) })
	putSlice(w, s.Regions, func(r *region) int { return recordBytes + seriesBytes(&r.Portfolio) })
	putMap(w, s.RegionIdx, fixed[int32](0))
	putMap(w, s.Years, regionYearBytes)
	putChunks(w, &s.Events)
	putAccounts(w, &s.Accounts)
	putMap(w, s.BankIdx, fixed[int32](0))
	putMap(w, s.Funds, func(f *fund) int { return seriesBytes(&f.Flows) })
	putMap(w, s.Loans, func(l *loan) int { return len(l.Events) * loanEventBytes })
	putMap(w, s.PersonKeys, fixed[int32](0))
	putMap(w, s.PersonIdx, fixed[int32](0))
	putSlice(w, s.Persons, func(p *personCovers) int { return recordBytes + len(p.Covers)*coverBytes })
	putChunks(w, &s.Subsidies)
	return w.err
}

// The header is framed on its own, as its length, its CRC-32C and its gob
// encoding: its counts size the lists before the body's checksum can be
// checked at the end, so a damaged count must not get that far.
const (
	headerFrameBytes = 4 + 4
	maxHeaderBytes   = 1 << 20
)

func putHeader(out io.Writer, h snapshotHeader) error {
	var buf bytes.Buffer
	buf.Write(make([]byte, headerFrameBytes))
	if err := gob.NewEncoder(&buf).Encode(h); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	frame := buf.Bytes()
	body := frame[headerFrameBytes:]
	assert(len(body) <= maxHeaderBytes, "snapshot header over its limit")
	binary.LittleEndian.PutUint32(frame[:4], uint32(len(body)))
	binary.LittleEndian.PutUint32(frame[4:8], crc32.Checksum(body, snapshotTable))
	_, err := out.Write(frame)
	return err
}

func readHeader(in io.Reader) (snapshotHeader, error) {
	var h snapshotHeader
	var frame [headerFrameBytes]byte
	if _, err := io.ReadFull(in, frame[:]); err != nil {
		return h, err
	}
	n := binary.LittleEndian.Uint32(frame[:4])
	if n > maxHeaderBytes {
		return h, errSnapshotDamaged
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(in, body); err != nil {
		return h, err
	}
	if crc32.Checksum(body, snapshotTable) != binary.LittleEndian.Uint32(frame[4:]) {
		return h, errSnapshotDamaged
	}
	if err := gob.NewDecoder(bytes.NewReader(body)).Decode(&h); err != nil {
		return h, err
	}
	return h, nil
}

// putAccounts writes the accounts in batches, each with the first chunk of
// its history; an account with more chunks ends its batch and its other
// chunks follow it, one a message.
func putAccounts(w *streamWriter, accounts *chunked[account]) {
	b := batch[account]{w: w}
	for acc := range accounts.all {
		head := *acc
		rest, entries := head.Entries.Chunks, 0
		if len(rest) > 0 {
			head.Entries.Chunks, rest = rest[:1], rest[1:]
			entries = len(head.Entries.Chunks[0].Entries)
		}
		b.add(head, recordBytes+len(head.Name)+entries*entryBytes)
		if len(rest) > 0 {
			b.flush()
			for _, ch := range rest {
				w.put(ch)
			}
		}
	}
	b.flush()
}

// streamReader decodes the messages of encodeState in order.
type streamReader struct {
	dec      *gob.Decoder
	messages int
}

// next decodes one message into a fresh value: gob leaves the fields it
// does not send (the zero ones) as they were, so nothing is reused.
func next[T any](r *streamReader) (T, error) {
	var v T
	if err := r.dec.Decode(&v); err != nil {
		return v, err
	}
	if r.messages++; r.messages%raiseEveryMessages == 0 {
		raiseGCLimit()
	}
	return v, nil
}

// readBatches decodes batches until n records have come, passing each on.
func readBatches[T any](r *streamReader, n int, each func(*T)) error {
	for got := 0; got < n; {
		items, err := next[[]T](r)
		if err != nil {
			return err
		}
		if len(items) == 0 || got+len(items) > n {
			return fmt.Errorf("batch of %d records after %d of %d", len(items), got, n)
		}
		for i := range items {
			each(&items[i])
		}
		got += len(items)
	}
	return nil
}

// readMap decodes a map of n entries.
func readMap[K comparable, V any](r *streamReader, n int) (map[K]V, error) {
	m := make(map[K]V, n)
	err := readBatches(r, n, func(p *pair[K, V]) { m[p.K] = p.V })
	return m, err
}

// readChunks decodes a chunked list of n records, chunk by chunk.
func readChunks[T any](r *streamReader, c *chunked[T], n int) error {
	c.Chunks = make([][]T, 0, (n+chunkLen-1)/chunkLen)
	for c.N < n {
		ch, err := next[[]T](r)
		if err != nil {
			return err
		}
		if len(ch) == 0 || len(ch) > chunkLen || c.N+len(ch) > n || (c.N%chunkLen != 0) {
			return fmt.Errorf("chunk of %d records after %d of %d", len(ch), c.N, n)
		}
		if len(c.Chunks) > 0 && len(ch) < chunkLen {
			// The last chunk, which add fills up in place.
			ch = append(make([]T, 0, chunkLen), ch...)
		}
		c.Chunks = append(c.Chunks, ch)
		c.N += len(ch)
	}
	return nil
}

// decodeState reads the message stream of encodeState.
func decodeState(in io.Reader) (*state, error) {
	h, err := readHeader(in)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	r := &streamReader{dec: gob.NewDecoder(in)}
	s := newState()
	s.Pos, s.Hash, s.LastDay, s.TypeNames = h.Pos, h.Hash, h.LastDay, h.TypeNames
	steps := []struct {
		name string
		read func() error
	}{
		{"documents", func() error {
			s.Docs = make([]string, 0, h.Docs)
			return readBatches(r, h.Docs, func(d *string) { s.Docs = append(s.Docs, *d) })
		}},
		{"regions", func() error {
			s.Regions = make([]region, 0, h.Regions)
			return readBatches(r, h.Regions, func(g *region) { s.Regions = append(s.Regions, *g) })
		}},
		{"region index", func() (err error) { s.RegionIdx, err = readMap[string, int32](r, h.RegionIdx); return err }},
		{"years", func() (err error) { s.Years, err = readMap[nodeYear, *regionYear](r, h.Years); return err }},
		{"events", func() error { return readChunks(r, &s.Events, h.Events) }},
		{"accounts", func() error { return readAccounts(r, s, h.Accounts) }},
		{"banks", func() (err error) { s.BankIdx, err = readMap[string, int32](r, h.Banks); return err }},
		{"funds", func() (err error) { s.Funds, err = readMap[string, *fund](r, h.Funds); return err }},
		{"loans", func() (err error) { s.Loans, err = readMap[string, *loan](r, h.Loans); return err }},
		{"person keys", func() (err error) { s.PersonKeys, err = readMap[idKey, int32](r, h.PersonKeys); return err }},
		{"person ids", func() (err error) { s.PersonIdx, err = readMap[string, int32](r, h.PersonIdx); return err }},
		{"persons", func() error {
			s.Persons = make([]personCovers, 0, h.Persons)
			return readBatches(r, h.Persons, func(p *personCovers) { s.Persons = append(s.Persons, *p) })
		}},
		{"subsidies", func() error { return readChunks(r, &s.Subsidies, h.Subsidies) }},
	}
	for _, step := range steps {
		if err := step.read(); err != nil {
			return nil, fmt.Errorf("%s: %w", step.name, err)
		}
	}
	s.reindex()
	return s, nil
}

// readAccounts decodes the accounts of putAccounts and rebuilds AccountIdx
// from their names (openAccount keeps it so: every account but number 0).
func readAccounts(r *streamReader, s *state, n int) error {
	s.Accounts = chunked[account]{}
	if err := readChunkedBatches(r, &s.Accounts, n, func(acc *account) error {
		return readRestOfHistory(r, &acc.Entries)
	}); err != nil {
		return err
	}
	s.AccountIdx = make(map[string]int32, n)
	for i := 1; i < s.Accounts.N; i++ {
		s.AccountIdx[s.Accounts.at(i).Name] = int32(i)
	}
	return nil
}

// readRestOfHistory decodes the chunks of a history after its first.
func readRestOfHistory(r *streamReader, h *history) error {
	got := 0
	for _, ch := range h.Chunks {
		got += len(ch.Entries)
	}
	for got < h.N {
		ch, err := next[historyChunk](r)
		if err != nil {
			return err
		}
		if len(ch.Entries) == 0 || got+len(ch.Entries) > h.N {
			return fmt.Errorf("history chunk of %d entries after %d of %d", len(ch.Entries), got, h.N)
		}
		h.Chunks = append(h.Chunks, ch)
		got += len(ch.Entries)
	}
	if got != h.N {
		return fmt.Errorf("history of %d entries holds %d", h.N, got)
	}
	return nil
}

// readChunkedBatches decodes batches of n records into a chunked list;
// after each batch, more reads the messages that follow its records.
func readChunkedBatches[T any](r *streamReader, c *chunked[T], n int, more func(*T) error) error {
	for c.N < n {
		items, err := next[[]T](r)
		if err != nil {
			return err
		}
		if len(items) == 0 || c.N+len(items) > n {
			return fmt.Errorf("batch of %d records after %d of %d", len(items), c.N, n)
		}
		for i := range items {
			c.add(items[i])
			if err := more(c.at(c.N - 1)); err != nil {
				return err
			}
		}
	}
	return nil
}
