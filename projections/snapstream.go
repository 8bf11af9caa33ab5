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
// The stream is a header with the position, hash and counts (framed and
// checksummed on its own: putHeader), then every list in batches, the
// chunked lists chunk by chunk into their final form. Lookup maps derived
// from a list (AccountIdx) are rebuilt, not stored.
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

// streamWriter encodes messages, keeping the first error. packed is its
// buffer of packed records, reused from one message to the next so that a
// snapshot's write leaves little garbage.
type streamWriter struct {
	enc    *gob.Encoder
	err    error
	packed []byte
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

// putChunks writes a chunked list one chunk a message, packed.
func putChunks[T any](w *streamWriter, c *chunked[T], pack func([]byte, []T) []byte) {
	for _, ch := range c.Chunks {
		w.packed = pack(w.packed[:0], ch)
		w.put(w.packed)
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
	putChunks(w, &s.Events, packEvents)
	putAccounts(w, s)
	putMap(w, s.BankIdx, fixed[int32](0))
	putMap(w, s.Funds, func(f *fund) int { return seriesBytes(&f.Flows) })
	putMap(w, s.Loans, func(l *loan) int { return len(l.Events) * loanEventBytes })
	putMap(w, s.PersonKeys, fixed[int32](0))
	putMap(w, s.PersonIdx, fixed[int32](0))
	putPersons(w, s.Persons)
	putChunks(w, &s.Subsidies, packContributions)
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

// putPersons writes the persons packed, in batches.
func putPersons(w *streamWriter, persons []personCovers) {
	w.packed = w.packed[:0]
	count := 0
	for i := range persons {
		w.packed = appendPerson(w.packed, &persons[i])
		if count++; count >= maxMessageItems || len(w.packed) >= maxMessageBytes {
			w.put(w.packed)
			w.packed, count = w.packed[:0], 0
		}
	}
	if count > 0 {
		w.put(w.packed)
	}
}

// accountWire is an account as a snapshot carries it, with the first chunk
// of its history; an account with more chunks ends its batch and the
// others follow it, one historyWire message each.
type accountWire struct {
	Name, Fund string
	Balance    int64
	N          int    // entries in the whole history
	Base       uint64 // of the first chunk
	First      []byte // the first chunk's entries, packed; none for an empty history
}

// historyWire is a chunk of a history after its first.
type historyWire struct {
	Base    uint64
	Entries []byte
}

// putAccounts writes the accounts as accountWire batches. The first chunks
// of a batch's histories are packed into one buffer, reused once the batch
// is out.
func putAccounts(w *streamWriter, s *state) {
	b := batch[accountWire]{w: w}
	var arena []byte
	for i := range s.Accounts.N {
		acc := s.Accounts.at(i)
		head := accountWire{Name: *s.AccountNames.at(i), Balance: acc.Balance, N: acc.Entries.N}
		if acc.fund != nil {
			head.Fund = acc.fund.ID
		}
		var rest []historyChunk
		if chunks := acc.Entries.Chunks; len(chunks) > 0 {
			start := len(arena)
			arena = packEntries(arena, chunks[0].Entries)
			head.Base, head.First, rest = chunks[0].Base, arena[start:len(arena):len(arena)], chunks[1:]
		}
		b.add(head, recordBytes+len(head.Name)+len(head.First))
		if len(rest) > 0 {
			b.flush()
			for _, ch := range rest {
				w.packed = packEntries(w.packed[:0], ch.Entries)
				w.put(historyWire{Base: ch.Base, Entries: w.packed})
			}
		}
		if len(b.items) == 0 {
			arena = arena[:0]
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

// readChunks decodes a chunked list of n records, chunk by chunk, each
// but the first with room for chunkLen records as add makes them.
func readChunks[T any](r *streamReader, c *chunked[T], n int, unpack func([]byte, int) ([]T, error)) error {
	c.Chunks = make([][]T, 0, (n+chunkLen-1)/chunkLen)
	for c.N < n {
		packed, err := next[[]byte](r)
		if err != nil {
			return err
		}
		capacity := 0
		if len(c.Chunks) > 0 {
			capacity = chunkLen
		}
		ch, err := unpack(packed, capacity)
		if err != nil {
			return err
		}
		if c.N+len(ch) > n || c.N%chunkLen != 0 {
			return fmt.Errorf("chunk of %d records after %d of %d", len(ch), c.N, n)
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
		{"events", func() error { return readChunks(r, &s.Events, h.Events, unpackEvents) }},
		{"accounts", func() error { return readAccounts(r, s, h.Accounts) }},
		{"banks", func() (err error) { s.BankIdx, err = readMap[string, int32](r, h.Banks); return err }},
		{"funds", func() (err error) { s.Funds, err = readMap[string, *fund](r, h.Funds); return err }},
		{"loans", func() (err error) { s.Loans, err = readMap[string, *loan](r, h.Loans); return err }},
		{"person keys", func() (err error) { s.PersonKeys, err = readMap[idKey, int32](r, h.PersonKeys); return err }},
		{"person ids", func() (err error) { s.PersonIdx, err = readMap[string, int32](r, h.PersonIdx); return err }},
		{"persons", func() error { return readPersons(r, s, h.Persons) }},
		{"subsidies", func() error { return readChunks(r, &s.Subsidies, h.Subsidies, unpackContributions) }},
	}
	for _, step := range steps {
		if err := step.read(); err != nil {
			return nil, fmt.Errorf("%s: %w", step.name, err)
		}
	}
	s.reindex()
	return s, nil
}

// readAccounts decodes the accounts of putAccounts and rebuilds their
// fingerprints and AccountIdx from their names (every account but number 0).
func readAccounts(r *streamReader, s *state, n int) error {
	s.Accounts = chunked[account]{Chunks: make([][]account, 0, (n+chunkLen-1)/chunkLen)}
	s.AccountNames = chunked[string]{Chunks: make([][]string, 0, (n+chunkLen-1)/chunkLen)}
	for s.Accounts.N < n {
		batch, err := next[[]accountWire](r)
		if err != nil {
			return err
		}
		if len(batch) == 0 || s.Accounts.N+len(batch) > n {
			return fmt.Errorf("batch of %d accounts after %d of %d", len(batch), s.Accounts.N, n)
		}
		for i := range batch {
			acc, err := readAccount(r, &batch[i])
			if err != nil {
				return fmt.Errorf("account %q: %w", batch[i].Name, err)
			}
			s.Accounts.add(acc)
			s.AccountNames.add(batch[i].Name)
		}
	}
	s.AccountIdx = make(map[string]int32, n)
	for i := 1; i < s.Accounts.N; i++ {
		name := *s.AccountNames.at(i)
		s.Accounts.at(i).fp = nameFP(name)
		s.AccountIdx[name] = int32(i)
	}
	s.accountsIndexed = s.Accounts.N
	return nil
}

// readAccount unpacks an account and reads the rest of its history.
func readAccount(r *streamReader, w *accountWire) (account, error) {
	acc := account{Balance: w.Balance} // its fund: reindex, from the funds
	if len(w.First) == 0 {
		if w.N != 0 {
			return acc, fmt.Errorf("history of %d entries without its first", w.N)
		}
		return acc, nil
	}
	first, err := unpackEntries(w.First, 0)
	if err != nil {
		return acc, err
	}
	h := &acc.Entries
	h.Chunks, h.N = []historyChunk{{Base: w.Base, Entries: first}}, w.N
	for got := len(first); got != h.N; {
		if got > h.N {
			return acc, fmt.Errorf("history of %d entries holds %d", h.N, got)
		}
		ch, err := next[historyWire](r)
		if err != nil {
			return acc, err
		}
		entries, err := unpackEntries(ch.Entries, chunkLen)
		if err != nil {
			return acc, err
		}
		h.Chunks = append(h.Chunks, historyChunk{Base: ch.Base, Entries: entries})
		got += len(entries)
	}
	return acc, nil
}

// readPersons decodes the persons of putPersons.
func readPersons(r *streamReader, s *state, n int) error {
	s.Persons = make([]personCovers, 0, n)
	for len(s.Persons) < n {
		packed, err := next[[]byte](r)
		if err != nil {
			return err
		}
		batch, err := unpackPersons(packed)
		if err != nil {
			return err
		}
		if len(batch) == 0 || len(s.Persons)+len(batch) > n {
			return fmt.Errorf("batch of %d persons after %d of %d", len(batch), len(s.Persons), n)
		}
		s.Persons = append(s.Persons, batch...)
	}
	return nil
}
