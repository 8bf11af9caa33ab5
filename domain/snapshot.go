package domain

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/shopspring/decimal"
)

// A snapshot of the write-side state lets the sequencer start from a file
// instead of replaying ten million events. The encoding is the state's own
// compact rows, not events: symbols stay symbols (the table of names is
// written first, in order, so that every symbol means the same after a
// read), amounts stay fen, dates four bytes. The few rows that are whole
// events (programs, targets, statistics, loan policies, the last checkpoint,
// approval requests) are written as their JSON, through the event codec, so
// that they read back exactly as a replay of the log would decode them.
// Where the bytes go (a file, its checksum, the log position it stands for)
// is the caller's business: the domain does no I/O of its own.

// snapshotMagic opens every snapshot; snapshotVersion changes whenever the
// layout of a row does, so that an old snapshot is refused, not misread.
const (
	snapshotMagic   = "LDGRSNAP"
	snapshotVersion = 3 // 2: payments, placements and trainings keyed by idKey; 3: in key order
)

// Limits of a snapshot read, so that a damaged one fails instead of
// allocating without bound.
const (
	maxSnapshotStringBytes = 1 << 20 // one id, name or event body
	maxSnapshotRows        = 1 << 32 // rows of one table
	maxSnapshotPresize     = 1 << 20 // rows a table is sized for before they are read, when the input's size is unknown
	minSnapshotRowBytes    = 16      // no row or name is shorter: an input of n bytes holds fewer than n/16
)

// ErrSnapshotFormat reports bytes that are not a snapshot this version of
// the domain wrote: another format version, or damaged content.
var ErrSnapshotFormat = errors.New("domain: not a ledger snapshot of this format")

// WriteTo writes the whole state in the snapshot encoding that ReadLedger
// reads. The state must be at rest: marked, with no tentative batch evolved
// since (the sequencer writes between batches).
func (l *Ledger) WriteTo(w io.Writer) (int64, error) {
	counted := &countingWriter{w: w}
	e := &snapshotWriter{w: bufio.NewWriterSize(counted, 1<<16)}
	e.raw([]byte(snapshotMagic))
	e.uvarint(snapshotVersion)
	l.writeSymbols(e)
	l.writeTables(e)
	if err := e.w.Flush(); err != nil {
		return counted.n, fmt.Errorf("domain: write snapshot: %w", err)
	}
	if e.err != nil {
		return counted.n, fmt.Errorf("domain: write snapshot: %w", e.err)
	}
	return counted.n, nil
}

// ReadLedger reads a state written by WriteTo. It refuses another format
// version or damaged content with ErrSnapshotFormat. A reader that tells
// its Size (bytes.Reader, io.SectionReader) lets the tables be sized at
// once for their rows, instead of growing through every power of two.
func ReadLedger(r io.Reader) (*Ledger, error) {
	d := &snapshotReader{r: bufio.NewReaderSize(r, 1<<16), presize: maxSnapshotPresize}
	if sized, ok := r.(interface{ Size() int64 }); ok {
		// A damaged count must not allocate gigabytes: no table has more
		// rows than the input has room for.
		d.presize = int(min(sized.Size()/minSnapshotRowBytes, maxSnapshotRows))
	}
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(d.r, magic); err != nil || string(magic) != snapshotMagic {
		return nil, fmt.Errorf("%w: no snapshot header", ErrSnapshotFormat)
	}
	if v := d.uvarint(); d.err == nil && v != snapshotVersion {
		return nil, fmt.Errorf("%w: version %d, this build reads %d", ErrSnapshotFormat, v, snapshotVersion)
	}
	l := NewLedger() // every table is replaced, the default loan policies too
	l.readSymbols(d)
	l.readTables(d)
	if d.err == nil {
		if _, err := d.r.ReadByte(); err != io.EOF {
			d.fail("bytes after the last table")
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("domain: read snapshot: %w", d.err)
	}
	return l, nil
}

// writeSymbols writes the interned names and indicator lists, in symbol order.
func (l *Ledger) writeSymbols(e *snapshotWriter) {
	e.uvarint(uint64(len(l.names.names) - 1)) // symbol 0, "", is implied
	for _, name := range l.names.names[1:] {
		e.str(name)
	}
	e.uvarint(uint64(len(l.indicatorSets.sets) - 1)) // set 0, nil, is implied
	for _, set := range l.indicatorSets.sets[1:] {
		e.uvarint(uint64(len(set)))
		for _, indicator := range set {
			e.str(string(indicator))
		}
	}
}

// readSymbols interns the names and lists in order, so that each gets the
// symbol it had when written.
func (l *Ledger) readSymbols(d *snapshotReader) {
	n := d.count()
	l.names.ids = make(map[string]symbol, min(n, d.presize)+1)
	l.names.ids[""] = 0
	l.names.names = make([]string, 1, min(n, d.presize)+1)
	for i := 1; i <= n && d.err == nil; i++ {
		if l.names.intern(d.str()) != symbol(i) {
			d.fail("name %d repeats an earlier one", i)
		}
	}
	d.symbols = len(l.names.names)
	sets := d.count()
	for i := 1; i <= sets && d.err == nil; i++ {
		n := d.count()
		list := make([]Indicator, 0, min(n, d.presize)) // never nil: a set read back is a list, maybe empty
		for k := 0; k < n && d.err == nil; k++ {
			list = append(list, Indicator(d.str()))
		}
		if d.err == nil && l.indicatorSets.intern(list) != indicatorSet(i) {
			d.fail("indicator list %d repeats an earlier one", i)
		}
	}
}

func (l *Ledger) writeTables(e *snapshotWriter) {
	writeRows(e, &l.regions, func(code string, r region) {
		e.str(code)
		e.str(r.name)
		e.str(r.parent)
		e.flags(r.poorVillage, r.creditVillage)
	})
	writeRows(e, &l.funds, func(id string, f fund) {
		e.str(id)
		e.str(string(f.kind))
		e.str(f.region)
		e.decimal(f.balance)
	})
	writeRows(e, &l.beneficiaries, func(id string, b beneficiary) {
		e.str(id)
		e.str(string(b.kind))
		e.str(b.region)
		e.uvarint(uint64(len(b.categories)))
		for _, p := range b.categories {
			e.str(string(p.category))
			e.date(p.from)
			e.date(p.to)
		}
	})
	writeRows(e, &l.programs, func(_ string, p ProgramDefined) { e.event(p) })
	l.writeMoneyTables(e)
	l.writeWorkTables(e)
	writeRows(e, &l.targets, func(_ targetKey, t TargetSet) { e.event(t) })
	writeRows(e, &l.statistics, func(_ statisticKey, s StatisticReported) { e.event(s) })
	writeRows(e, &l.policies, func(_ Date, p LoanPolicy) { e.event(LoanPolicySet{p}) })
	writeRows(e, &l.checkpoint, func(_ struct{}, c CheckpointRecorded) { e.event(c) })
	writeRows(e, &l.approvals, func(_ string, a approval) {
		e.event(a.requested)
		e.flags(a.decided)
	})
}

func (l *Ledger) readTables(d *snapshotReader) {
	readRows(d, &l.regions, func() (string, region) {
		code, r := d.str(), region{name: d.str(), parent: d.str()}
		flags := d.flags()
		r.poorVillage, r.creditVillage = flags&1 != 0, flags&2 != 0
		return code, r
	})
	readRows(d, &l.funds, func() (string, fund) {
		id := d.str()
		return id, fund{kind: FundKind(d.str()), region: d.str(), balance: d.decimal()}
	})
	readRows(d, &l.beneficiaries, l.readBeneficiary(d))
	readRows(d, &l.programs, func() (string, ProgramDefined) {
		p := readEvent[ProgramDefined](d)
		return p.ProgramID, p
	})
	l.readMoneyTables(d)
	l.readWorkTables(d)
	readRows(d, &l.targets, func() (targetKey, TargetSet) {
		t := readEvent[TargetSet](d)
		return targetKey{t.RegionCode, t.Year, t.Indicator, t.Issuer}, t
	})
	readRows(d, &l.statistics, func() (statisticKey, StatisticReported) {
		s := readEvent[StatisticReported](d)
		return statisticKey{s.RegionCode, s.Year, s.Indicator}, s
	})
	readRows(d, &l.policies, func() (Date, LoanPolicy) {
		p := readEvent[LoanPolicySet](d)
		return p.EffectiveFrom, p.LoanPolicy
	})
	readRows(d, &l.checkpoint, func() (struct{}, CheckpointRecorded) {
		return struct{}{}, readEvent[CheckpointRecorded](d)
	})
	readRows(d, &l.approvals, func() (string, approval) {
		a := approval{requested: readEvent[ApprovalRequested](d)}
		a.decided = d.flags()&1 != 0
		return a.requested.RequestID, a
	})
}

// readBeneficiary reads a beneficiary row with its strings shared through
// the names, as evolveRegistered keeps them.
func (l *Ledger) readBeneficiary(d *snapshotReader) func() (string, beneficiary) {
	return func() (string, beneficiary) {
		id := l.names.canon(d.str())
		b := beneficiary{kind: BeneficiaryKind(l.names.canon(d.str())), region: l.names.canon(d.str())}
		if n := d.count(); n > 0 && d.err == nil {
			b.categories = make([]categoryPeriod, 0, min(n, d.presize))
			for i := 0; i < n && d.err == nil; i++ {
				b.categories = append(b.categories, l.period(Category(d.str()), d.date(), d.date()))
			}
		}
		return id, b
	}
}

// writeMoneyTables writes payments, their usage and loans: the rows that
// hold symbols and fen.
func (l *Ledger) writeMoneyTables(e *snapshotWriter) {
	writeRowTable(e, &l.payments, func(k idKey, p payment) {
		e.key(k)
		e.symbols(p.program, p.beneficiary, p.fund, p.region)
		e.date(p.date)
		e.varint(int64(p.amount))
		e.varint(int64(p.reversed))
	})
	writeRows(e, &l.usage, func(k usageKey, n int) {
		e.symbols(k.program, k.beneficiary)
		e.varint(int64(n))
	})
	writeRows(e, &l.loans, func(id string, ln loan) {
		e.str(id)
		e.symbols(ln.borrower, ln.bank, ln.region, ln.guaranteeFund)
		e.date(ln.issueDate)
		e.str(string(ln.status))
		e.flags(ln.poorVillage)
		for _, amount := range []fen{ln.principal, ln.repaid, ln.compensated, ln.recovered, ln.writtenOff} {
			e.varint(int64(amount))
		}
	})
}

func (l *Ledger) readMoneyTables(d *snapshotReader) {
	readRowTable(d, &l.payments, func() (idKey, payment) {
		k := d.idKey()
		return k, payment{program: d.symbol(), beneficiary: d.symbol(), fund: d.symbol(), region: d.symbol(),
			date: d.date(), amount: d.fen(), reversed: d.fen()}
	})
	readRows(d, &l.usage, func() (usageKey, int) {
		return usageKey{d.symbol(), d.symbol()}, int(d.varint())
	})
	readRows(d, &l.loans, func() (string, loan) {
		id := d.str()
		ln := loan{borrower: d.symbol(), bank: d.symbol(), region: d.symbol(), guaranteeFund: d.symbol(), issueDate: d.date()}
		ln.status = d.loanStatus()
		ln.poorVillage = d.flags()&1 != 0
		ln.principal, ln.repaid, ln.compensated, ln.recovered, ln.writtenOff = d.fen(), d.fen(), d.fen(), d.fen(), d.fen()
		return id, ln
	})
}

// writeWorkTables writes placements and trainings.
func (l *Ledger) writeWorkTables(e *snapshotWriter) {
	writeRowTable(e, &l.placements, func(k idKey, p placement) {
		e.key(k)
		e.symbols(p.beneficiary, p.region)
		e.uvarint(uint64(p.indicators))
		e.date(p.date)
		e.flags(p.ended, p.reversed)
	})
	writeRowTable(e, &l.trainings, func(k idKey, t training) {
		e.key(k)
		e.symbols(t.beneficiary)
		e.date(t.date)
	})
}

func (l *Ledger) readWorkTables(d *snapshotReader) {
	readRowTable(d, &l.placements, func() (idKey, placement) {
		k := d.idKey()
		p := placement{beneficiary: d.symbol(), region: d.symbol(), indicators: d.indicatorSet(len(l.indicatorSets.sets)), date: d.date()}
		flags := d.flags()
		p.ended, p.reversed = flags&1 != 0, flags&2 != 0
		return k, p
	})
	readRowTable(d, &l.trainings, func() (idKey, training) {
		k := d.idKey()
		return k, training{beneficiary: d.symbol(), date: d.date()}
	})
}

// writeRows writes a table's row count, then each row.
func writeRows[K comparable, V any](e *snapshotWriter, t *table[K, V], row func(K, V)) {
	e.uvarint(uint64(len(t.rows)))
	for k, v := range t.rows {
		row(k, v)
	}
}

// readRows reads a table written by writeRows into an empty table; a key
// read twice means damaged content.
func readRows[K comparable, V any](d *snapshotReader, t *table[K, V], row func() (K, V)) {
	n := d.count()
	if d.err != nil {
		return
	}
	t.rows = make(map[K]V, min(n, d.presize))
	for i := 0; i < n && d.err == nil; i++ {
		k, v := row()
		if t.rows[k] = v; len(t.rows) != i+1 {
			d.fail("key %v twice in one table", k)
		}
	}
}

// writeRowTable writes a rowTable's row count, then each row in key order.
func writeRowTable[V any](e *snapshotWriter, t *rowTable[V], row func(idKey, V)) {
	e.uvarint(uint64(t.len()))
	t.ascend(row)
}

// readRowTable reads a table written by writeRowTable: rows in strictly
// increasing key order become the sorted array as they are.
func readRowTable[V any](d *snapshotReader, t *rowTable[V], row func() (idKey, V)) {
	n := d.count()
	if d.err != nil {
		return
	}
	rows := make([]keyedRow[V], 0, min(n, d.presize))
	for i := 0; i < n && d.err == nil; i++ {
		k, v := row()
		rows = append(rows, keyedRow[V]{k, v})
	}
	if d.err == nil && !t.load(rows) {
		d.fail("rows out of key order")
	}
}

// countingWriter counts the bytes WriteTo writes, as io.WriterTo reports them.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// snapshotWriter writes the primitives of the encoding; the first error sticks.
type snapshotWriter struct {
	w   *bufio.Writer
	err error
	buf [scratchBytes]byte // for each field, so that writing one allocates nothing
}

// scratchBytes holds the largest fixed field: a key.
const scratchBytes = len(idKey{})

func (e *snapshotWriter) raw(p []byte) { _, _ = e.w.Write(p) } // bufio keeps the error for Flush

func (e *snapshotWriter) uvarint(v uint64) { e.raw(binary.AppendUvarint(e.buf[:0], v)) }

func (e *snapshotWriter) varint(v int64) { e.raw(binary.AppendVarint(e.buf[:0], v)) }

func (e *snapshotWriter) str(s string) {
	e.uvarint(uint64(len(s)))
	_, _ = e.w.WriteString(s)
}

func (e *snapshotWriter) symbols(syms ...symbol) {
	for _, s := range syms {
		e.uvarint(uint64(s))
	}
}

// flags writes up to eight booleans as the bits of one byte, first lowest.
func (e *snapshotWriter) flags(bits ...bool) {
	var b byte
	for i, set := range bits {
		if set {
			b |= 1 << i
		}
	}
	_ = e.w.WriteByte(b)
}

func (e *snapshotWriter) date(d Date) {
	e.raw(append(e.buf[:0], byte(uint16(d.year)>>8), byte(d.year), d.month, d.day))
}

func (e *snapshotWriter) key(k idKey) { e.raw(append(e.buf[:0], k[:]...)) }

// decimal writes the exact coefficient and exponent, so that a balance
// reads back as the same value with the same scale.
func (e *snapshotWriter) decimal(v decimal.Decimal) {
	data, err := v.MarshalBinary()
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("decimal %s: %w", v, err)
	}
	e.uvarint(uint64(len(data)))
	e.raw(data)
}

// event writes an event's JSON body, through the codec a replay reads.
func (e *snapshotWriter) event(ev Event) {
	_, data, err := Encode(ev)
	if err != nil && e.err == nil {
		e.err = err
	}
	e.uvarint(uint64(len(data)))
	e.raw(data)
}

// snapshotReader reads the primitives of the encoding; the first error
// sticks and every later read returns a zero value.
type snapshotReader struct {
	r       *bufio.Reader
	err     error
	symbols int // how many names a row's symbols may stand for: set by readSymbols
	presize int // the most rows a table is sized for before they are read
}

func (d *snapshotReader) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrSnapshotFormat}, args...)...)
	}
}

func (d *snapshotReader) check(err error) {
	if err != nil && d.err == nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		d.err = fmt.Errorf("%w: %w", ErrSnapshotFormat, err)
	}
}

func (d *snapshotReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(d.r)
	d.check(err)
	return v
}

func (d *snapshotReader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(d.r)
	d.check(err)
	return v
}

// count reads a number of rows or items.
func (d *snapshotReader) count() int {
	n := d.uvarint()
	if n > maxSnapshotRows {
		d.fail("%d rows, limit %d", n, uint64(maxSnapshotRows))
		return 0
	}
	return int(n)
}

func (d *snapshotReader) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > maxSnapshotStringBytes {
		d.fail("%d bytes in one field, limit %d", n, maxSnapshotStringBytes)
		return nil
	}
	p := make([]byte, n)
	_, err := io.ReadFull(d.r, p)
	d.check(err)
	return p
}

func (d *snapshotReader) str() string { return string(d.bytes()) }

func (d *snapshotReader) idKey() idKey {
	var k idKey
	if d.err != nil {
		return k
	}
	// Peek spares the copy through io.ReadFull: ten million keys are read.
	b, err := d.r.Peek(len(k))
	d.check(err)
	copy(k[:], b)
	_, _ = d.r.Discard(len(b))
	return k
}

func (d *snapshotReader) flags() byte {
	if d.err != nil {
		return 0
	}
	b, err := d.r.ReadByte()
	d.check(err)
	return b
}

// symbol reads a symbol, which must name one of the names read before.
func (d *snapshotReader) symbol() symbol {
	v := d.uvarint()
	if v >= uint64(d.symbols) {
		d.fail("symbol %d of %d", v, d.symbols)
		return 0
	}
	return symbol(v)
}

func (d *snapshotReader) indicatorSet(sets int) indicatorSet {
	v := d.uvarint()
	if v >= uint64(sets) {
		d.fail("indicator list %d of %d", v, sets)
		return 0
	}
	return indicatorSet(v)
}

// fen reads an amount; the rows hold amounts bounded as fen says.
func (d *snapshotReader) fen() fen {
	v := d.varint()
	if v > math.MaxInt64/2 || v < -math.MaxInt64/2 {
		d.fail("amount %d out of range", v)
	}
	return fen(v)
}

// date reads a date: the zero Date or a calendar date the ledger accepts.
func (d *snapshotReader) date() Date {
	if d.err != nil {
		return Date{}
	}
	b, err := d.r.Peek(4)
	d.check(err)
	if d.err != nil {
		return Date{}
	}
	_, _ = d.r.Discard(len(b))
	year, month, day := int(int16(uint16(b[0])<<8|uint16(b[1]))), int(b[2]), int(b[3])
	if year == 0 && month == 0 && day == 0 {
		return Date{}
	}
	date, ok := NewDate(year, month, day)
	if !ok {
		d.fail("date %d-%d-%d", year, month, day)
	}
	return date
}

func (d *snapshotReader) decimal() decimal.Decimal {
	data := d.bytes()
	if d.err != nil {
		return decimal.Decimal{}
	}
	var v decimal.Decimal
	d.check(v.UnmarshalBinary(data))
	return v
}

// loanStatus reads a status as the one shared constant.
func (d *snapshotReader) loanStatus() LoanStatus {
	s := LoanStatus(d.str())
	for _, known := range []LoanStatus{StatusActive, StatusDefaulted, StatusWrittenOff, StatusClosed} {
		if s == known {
			return known
		}
	}
	d.fail("loan status %q", s)
	return ""
}

// readEvent reads an event's JSON body written by snapshotWriter.event.
func readEvent[E Event](d *snapshotReader) E {
	var zero E
	data := d.bytes()
	if d.err != nil {
		return zero
	}
	ev, err := Decode(zero.EventType(), data)
	d.check(err)
	e, ok := ev.(E)
	if !ok && d.err == nil {
		d.fail("event %s decodes as %T", zero.EventType(), ev)
	}
	return e
}
