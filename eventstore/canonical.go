package eventstore

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"time"
)

// canonicalTag opens every canonical encoding so that a hash over it can never
// be confused with a hash over some other structure, and so that a future
// encoding (v2) hashes differently by construction.
const canonicalTag = "hrss-ledger/event/v1"

// Canonical returns the deterministic byte encoding of an event that the hash
// chain is computed over. It covers the whole envelope and the data, except
// Hash itself. The layout, version 1, is, in this order:
//
//	tag           the 20 bytes "hrss-ledger/event/v1"
//	Position      uint64, big-endian
//	ID            16 bytes
//	Stream        string
//	Version       uint64, big-endian
//	Type          string
//	Data          bytes
//	BusinessDate  string
//	Recorded      int64, big-endian: UTC nanoseconds since the Unix epoch (0 for the zero time)
//	Actor         string
//	CommandID     string
//	Fingerprint   string
//	CorrelationID string
//
// where string and bytes are a uint32 big-endian length followed by the bytes.
// Length prefixes make the encoding unambiguous: no two different events
// encode to the same bytes. Anyone can recompute it from an exported event
// (the audit does) without this package.
func Canonical(e Event) []byte {
	return appendCanonical(make([]byte, 0, canonicalSize(e)), e)
}

// AppendCanonical appends the canonical encoding of e to b: a caller
// hashing millions of events (the audit tree's build) reuses one buffer
// instead of allocating one per event.
func AppendCanonical(b []byte, e Event) []byte {
	return appendCanonical(slices.Grow(b, canonicalSize(e)), e)
}

func appendCanonical(b []byte, e Event) []byte {
	b = append(b, canonicalTag...)
	b = binary.BigEndian.AppendUint64(b, e.Position)
	b = append(b, e.ID[:]...)
	b = appendField(b, e.Stream)
	b = binary.BigEndian.AppendUint64(b, e.Version)
	b = appendField(b, e.Type)
	b = appendField(b, e.Data)
	b = appendField(b, e.Meta.BusinessDate)
	b = binary.BigEndian.AppendUint64(b, uint64(recordedNanos(e.Meta.Recorded)))
	b = appendField(b, e.Meta.Actor)
	b = appendField(b, e.Meta.CommandID)
	b = appendField(b, e.Meta.Fingerprint)
	b = appendField(b, e.Meta.CorrelationID)
	return b
}

// ChainHash returns sha256(prev || Canonical(e)): the hash an event carries
// when prev is the hash of the event before it. The first event of a log
// chains from the all-zero hash.
func ChainHash(prev [32]byte, e Event) [32]byte {
	var c chainer
	return c.hash(prev, e)
}

// chainer computes ChainHash reusing its buffer, for the loops that hash
// every event of a log. (sha256.Sum256 keeps its digest on the stack,
// where a hash.Hash's Sum would allocate the result.)
type chainer struct {
	buf []byte
}

func (c *chainer) hash(prev [32]byte, e Event) [32]byte {
	c.buf = appendCanonical(append(c.buf[:0], prev[:]...), e)
	return sha256.Sum256(c.buf)
}

// recordedNanos maps the zero time to 0 because time.Time{}.UnixNano is
// undefined, and every other time to its UTC nanoseconds.
func recordedNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func appendField[T string | []byte](b []byte, s T) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func canonicalSize(e Event) int {
	const fixed = len(canonicalTag) + 8 + 16 + 8 + 8 + 8*4
	return fixed + len(e.Stream) + len(e.Type) + len(e.Data) + len(e.Meta.BusinessDate) +
		len(e.Meta.Actor) + len(e.Meta.CommandID) + len(e.Meta.Fingerprint) + len(e.Meta.CorrelationID)
}
