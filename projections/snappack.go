package projections

import (
	"encoding/binary"
	"fmt"
)

// The most numerous records of a snapshot (the log's events and the
// accounts' entries, tens of millions at 10M events, and the subsidies)
// travel as fixed-width little-endian bytes inside their gob messages:
// decoding them field by field through gob's reflection was four fifths
// of a load's time.

// Widths in bytes of the packed records.
const (
	eventInfoBytes    = 16 + 4 + 4 + 1 // ID, Day, Doc, Type
	entryBytes        = 8 + 4 + 4      // Amount, Off, Counter
	contributionBytes = 8 + 4 + 4 + 8  // Pos, Node, Day, Amount
)

var le = binary.LittleEndian

// The pack functions append to b, a buffer the writer reuses.

func packEvents(b []byte, list []eventInfo) []byte {
	for i := range list {
		e := &list[i]
		b = append(b, e.ID[:]...)
		b = le.AppendUint32(b, uint32(e.Day))
		b = le.AppendUint32(b, uint32(e.Doc))
		b = append(b, e.Type)
	}
	return b
}

func unpackEvents(b []byte, capacity int) ([]eventInfo, error) {
	n, err := packedCount(b, eventInfoBytes, capacity)
	if err != nil {
		return nil, err
	}
	list := make([]eventInfo, n, max(n, capacity))
	for i := range list {
		r := b[i*eventInfoBytes : (i+1)*eventInfoBytes]
		e := &list[i]
		copy(e.ID[:], r[:16])
		e.Day = day(int32(le.Uint32(r[16:])))
		e.Doc = int32(le.Uint32(r[20:]))
		e.Type = r[24]
	}
	return list, nil
}

func packEntries(b []byte, list []entry) []byte {
	for _, e := range list {
		b = le.AppendUint64(b, uint64(e.Amount))
		b = le.AppendUint32(b, e.Off)
		b = le.AppendUint32(b, uint32(e.Counter))
	}
	return b
}

func unpackEntries(b []byte, capacity int) ([]entry, error) {
	n, err := packedCount(b, entryBytes, capacity)
	if err != nil {
		return nil, err
	}
	list := make([]entry, n, max(n, capacity))
	for i := range list {
		r := b[i*entryBytes : (i+1)*entryBytes]
		list[i] = entry{Amount: int64(le.Uint64(r)), Off: le.Uint32(r[8:]), Counter: int32(le.Uint32(r[12:]))}
	}
	return list, nil
}

func packContributions(b []byte, list []contribution) []byte {
	for _, c := range list {
		b = le.AppendUint64(b, c.Pos)
		b = le.AppendUint32(b, uint32(c.Node))
		b = le.AppendUint32(b, uint32(c.Day))
		b = le.AppendUint64(b, uint64(c.Amount))
	}
	return b
}

func unpackContributions(b []byte, capacity int) ([]contribution, error) {
	n, err := packedCount(b, contributionBytes, capacity)
	if err != nil {
		return nil, err
	}
	list := make([]contribution, n, max(n, capacity))
	for i := range list {
		r := b[i*contributionBytes : (i+1)*contributionBytes]
		list[i] = contribution{Pos: le.Uint64(r), Node: int32(le.Uint32(r[8:])),
			Day: day(int32(le.Uint32(r[12:]))), Amount: int64(le.Uint64(r[16:]))}
	}
	return list, nil
}

// packedCount is the number of records of width bytes in b, which must be
// whole and, like every chunk, at most chunkLen.
func packedCount(b []byte, width, capacity int) (int, error) {
	n := len(b) / width
	if len(b)%width != 0 || n == 0 || n > chunkLen || capacity > chunkLen {
		return 0, fmt.Errorf("packed records: %d bytes of %d-byte records", len(b), width)
	}
	return n, nil
}

// coverBytes is the width of a packed cover: Pos, Placement, Node, From,
// To, Year, Ind.
const coverBytes = 8 + 8 + 4 + 4 + 4 + 2 + 1

// appendPerson packs a person as the number of their covers (uvarint),
// then the covers.
func appendPerson(b []byte, p *personCovers) []byte {
	b = binary.AppendUvarint(b, uint64(len(p.Covers)))
	for _, c := range p.Covers {
		b = le.AppendUint64(b, c.Pos)
		b = le.AppendUint64(b, c.Placement)
		b = le.AppendUint32(b, uint32(c.Node))
		b = le.AppendUint32(b, uint32(c.From))
		b = le.AppendUint32(b, uint32(c.To))
		b = le.AppendUint16(b, uint16(c.Year))
		b = append(b, c.Ind)
	}
	return b
}

// unpackPersons unpacks a batch of appendPerson records. The covers of the
// batch share one array, each person's slice full to its capacity, so that
// a person's new cover moves only their own covers elsewhere.
func unpackPersons(b []byte) ([]personCovers, error) {
	all := make([]cover, 0, len(b)/coverBytes)
	var persons []personCovers
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k)/coverBytes {
			return nil, fmt.Errorf("packed person of %d covers in %d bytes", n, len(b))
		}
		b = b[k:]
		start := len(all)
		for range n {
			all = append(all, cover{Pos: le.Uint64(b), Placement: le.Uint64(b[8:]), Node: int32(le.Uint32(b[16:])),
				From: day(int32(le.Uint32(b[20:]))), To: day(int32(le.Uint32(b[24:]))),
				Year: int16(le.Uint16(b[28:])), Ind: b[30]})
			b = b[coverBytes:]
		}
		var covers []cover
		if n > 0 {
			covers = all[start:len(all):len(all)]
		}
		persons = append(persons, personCovers{Covers: covers})
	}
	return persons, nil
}
