package jetstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
	"unsafe"

	"github.com/hrss-ledger/ledger/eventstore"
)

// One JetStream message carries one batch: the events of one or more commits
// that were made durable together. Its payload, version 1:
//
//	magic      "LGB1"
//	writer     8 bytes: random id of the store instance that published it
//	batch      uvarint: that instance's batch counter (with writer, tells
//	           whether a message whose publish timed out is ours)
//	first      uvarint: position of the first event
//	recorded   varint: UTC nanoseconds, shared by every event of the batch
//	count      uvarint: number of events
//	count times:
//	  id       16 bytes
//	  hash     32 bytes
//	  version  uvarint
//	  stream, type, business date, actor, command id, fingerprint,
//	  correlation id: each a string field
//	  data     uvarint length, then the bytes (the event's JSON)
//
// A string field is uvarint(n+1) followed by n bytes, or the single byte 0
// meaning "same as in the event before": commits repeat their command id,
// fingerprint, actor and date on every event, and consecutive events often
// share a type, so the repeat costs one byte and no allocation on decode.
// Positions are first, first+1, ... in order.
const magic = "LGB1"

// errBadPayload marks a message that is not a batch this package wrote.
var errBadPayload = errors.New("jetstream: malformed batch message")

// header is the part of a batch message before its events.
type header struct {
	writer   [8]byte
	batch    uint64
	first    eventstore.Position
	recorded time.Time
	count    int
}

// encodeBatch appends the payload for events (consecutive positions, one
// recorded time) to dst.
func encodeBatch(dst []byte, writer [8]byte, batch uint64, events []eventstore.Event) []byte {
	dst = append(dst, magic...)
	dst = append(dst, writer[:]...)
	dst = binary.AppendUvarint(dst, batch)
	dst = binary.AppendUvarint(dst, events[0].Position)
	dst = binary.AppendVarint(dst, events[0].Meta.Recorded.UnixNano())
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	var prev *eventstore.Event
	for i := range events {
		e := &events[i]
		dst = append(dst, e.ID[:]...)
		dst = append(dst, e.Hash[:]...)
		dst = binary.AppendUvarint(dst, e.Version)
		var p eventstore.Event
		if prev != nil {
			p = *prev
		}
		dst = appendString(dst, e.Stream, p.Stream, prev != nil)
		dst = appendString(dst, e.Type, p.Type, prev != nil)
		dst = appendString(dst, e.Meta.BusinessDate, p.Meta.BusinessDate, prev != nil)
		dst = appendString(dst, e.Meta.Actor, p.Meta.Actor, prev != nil)
		dst = appendString(dst, e.Meta.CommandID, p.Meta.CommandID, prev != nil)
		dst = appendString(dst, e.Meta.Fingerprint, p.Meta.Fingerprint, prev != nil)
		dst = appendString(dst, e.Meta.CorrelationID, p.Meta.CorrelationID, prev != nil)
		dst = binary.AppendUvarint(dst, uint64(len(e.Data)))
		dst = append(dst, e.Data...)
		prev = e
	}
	return dst
}

func appendString(dst []byte, s, prev string, havePrev bool) []byte {
	if havePrev && s == prev {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(s))+1)
	return append(dst, s...)
}

// decoder reads batch payloads. It interns the few distinct values of the
// low-cardinality fields (type, actor, date) so that decoding a long log
// does not allocate them again for every event.
//
// What a decoded event owns depends on where its payload lives:
//   - an owned payload (a NATS message, a record read for this call alone)
//     is kept: each event's Data, command id, fingerprint and correlation id
//     alias it, so the message costs no allocation beyond its events;
//   - a borrowed payload (newBorrowingDecoder: the cache scan's read
//     buffer, or a caller's bytes) is reused after decode, so those fields
//     are copied into one allocation per message.
//
// Either way one message's events share one immutable byte array, which
// stays alive while any of them is retained. Stream, the field callers keep
// most (map keys by stream), always gets its own allocation, so that
// keeping a stream name does not keep a message's bodies.
type decoder struct {
	intern    map[string]string
	borrowed  bool
	transient bool // the events are dropped before the payload: Stream aliases it too
}

// maxInterned bounds the intern table; past it the table starts over.
const maxInterned = 4096

func newDecoder() *decoder { return &decoder{intern: make(map[string]string)} }

// newBorrowingDecoder returns a decoder for payloads the caller reuses
// after decode.
func newBorrowingDecoder() *decoder {
	return &decoder{intern: make(map[string]string), borrowed: true}
}

// newTransientDecoder returns a decoder whose events, every string
// included, alias the payload: for opening, which drops each message's events before
// it reuses the payload, and so allocates nothing per event.
func newTransientDecoder() *decoder {
	return &decoder{intern: make(map[string]string), transient: true}
}

// reader walks a payload; a read past its end sets err.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.fail()
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errBadPayload
	}
	r.b = nil
}

// readHeader decodes the part of a payload before its events.
func readHeader(payload []byte) (header, reader, error) {
	r := reader{b: payload}
	if string(r.bytes(uint64(len(magic)))) != magic {
		return header{}, r, fmt.Errorf("%w: bad magic", errBadPayload)
	}
	var h header
	copy(h.writer[:], r.bytes(8))
	h.batch = r.uvarint()
	h.first = r.uvarint()
	h.recorded = time.Unix(0, r.varint()).UTC()
	count := r.uvarint()
	if r.err != nil || count == 0 || count > eventstore.MaxBatchEvents {
		return header{}, r, fmt.Errorf("%w: bad header", errBadPayload)
	}
	h.count = int(count)
	return h, r, nil
}

// decode appends the events of a payload to dst. What they alias is told
// at decoder.
func (d *decoder) decode(dst []eventstore.Event, payload []byte) ([]eventstore.Event, header, error) {
	h, r, err := readHeader(payload)
	if err != nil {
		return dst, h, err
	}
	start := len(dst)
	dst = slices.Grow(dst, h.count)
	var prev eventstore.Event
	aliased := 0 // bytes of the payload the events alias
	for i := range h.count {
		var e eventstore.Event
		copy(e.ID[:], r.bytes(16))
		copy(e.Hash[:], r.bytes(32))
		e.Position = h.first + eventstore.Position(i)
		e.Version = r.uvarint()
		e.Stream = d.owned(&r, prev.Stream)
		e.Type = d.interned(&r, prev.Type)
		e.Meta.BusinessDate = d.interned(&r, prev.Meta.BusinessDate)
		e.Meta.Actor = d.interned(&r, prev.Meta.Actor)
		e.Meta.CommandID = aliasString(&r, prev.Meta.CommandID, &aliased)
		e.Meta.Fingerprint = aliasString(&r, prev.Meta.Fingerprint, &aliased)
		e.Meta.CorrelationID = aliasString(&r, prev.Meta.CorrelationID, &aliased)
		e.Data = r.bytes(r.uvarint())
		aliased += len(e.Data)
		e.Meta.Recorded = h.recorded
		if r.err != nil {
			return dst[:start], h, fmt.Errorf("%w: event %d of %d", r.err, i, h.count)
		}
		dst = append(dst, e)
		prev = e
	}
	if len(r.b) != 0 {
		return dst[:start], h, fmt.Errorf("%w: %d trailing bytes", errBadPayload, len(r.b))
	}
	if d.borrowed {
		own(dst[start:], aliased)
	}
	return dst, h, nil
}

// owned reads a string field into a string of its own.
func (d *decoder) owned(r *reader, prev string) string {
	n := r.uvarint()
	if n == 0 {
		return prev
	}
	b := r.bytes(n - 1)
	if d.transient && len(b) > 0 {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

// interned reads a string field with few distinct values.
func (d *decoder) interned(r *reader, prev string) string {
	n := r.uvarint()
	if n == 0 {
		return prev
	}
	b := r.bytes(n - 1)
	if d.transient && len(b) > 0 { // dropped with the payload: no need to share
		return unsafe.String(&b[0], len(b))
	}
	if s, ok := d.intern[string(b)]; ok {
		return s
	}
	if len(d.intern) >= maxInterned {
		clear(d.intern)
	}
	s := string(b)
	d.intern[s] = s
	return s
}

// aliasString reads a string field as a view of the payload, adding its
// length to *aliased unless it repeats the previous event's.
func aliasString(r *reader, prev string, aliased *int) string {
	n := r.uvarint()
	if n == 0 {
		return prev
	}
	b := r.bytes(n - 1)
	if len(b) == 0 {
		return ""
	}
	*aliased += len(b)
	return unsafe.String(&b[0], len(b))
}

// own copies what events alias of a borrowed payload (size bytes in all)
// into one new array. A string repeated from the event before shares the
// copy made for that event.
func own(events []eventstore.Event, size int) {
	buf := make([]byte, 0, size)
	var was, now eventstore.Meta // the previous event's strings, before and after the copy
	for i := range events {
		m := &events[i].Meta
		old := *m
		m.CommandID, buf = ownString(m.CommandID, was.CommandID, now.CommandID, buf)
		m.Fingerprint, buf = ownString(m.Fingerprint, was.Fingerprint, now.Fingerprint, buf)
		m.CorrelationID, buf = ownString(m.CorrelationID, was.CorrelationID, now.CorrelationID, buf)
		was, now = old, *m
		if data := events[i].Data; data != nil {
			buf = append(buf, data...)
			events[i].Data = buf[len(buf)-len(data) : len(buf) : len(buf)]
		}
	}
}

// ownString copies s to the end of buf, unless s is the previous event's
// value (wasPrev, the very same bytes), whose copy nowPrev it returns.
func ownString(s, wasPrev, nowPrev string, buf []byte) (string, []byte) {
	if s == "" {
		return "", buf
	}
	if len(s) == len(wasPrev) && unsafe.StringData(s) == unsafe.StringData(wasPrev) {
		return nowPrev, buf
	}
	buf = append(buf, s...)
	tail := buf[len(buf)-len(s):]
	return unsafe.String(&tail[0], len(tail)), buf
}
