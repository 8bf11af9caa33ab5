package domain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"unsafe"

	"github.com/shopspring/decimal"
)

// The binary form of events, for the sealed segments of the log that a
// rebuild of the views reads instead of the JSON (projections). It is not
// the log's form: the log keeps JSON, which the hash chain covers; a
// segment is derived from it and can always be made again.
//
// A segment is written by one BinaryWriter and read by one BinaryReader
// from its start, so that a value of few distinct ones (a region, a fund, a
// kind, a date, an amount, a list of indicators) is written once and then
// named by its number in the segment's table: reading it back costs no
// parsing and no allocation. A value of many (a person, a loan, a payment)
// is written out each time: in a table it would seldom be met again, and it
// would make the table too large for the processor's cache. An event is
//
//	code   uvarint: the type's place in binaryTypes + 1, or 0 for a type
//	       without a binary form: then its wire name (a string) and its
//	       JSON body (uvarint length, bytes) follow
//	fields in the order of the type's visit function
//
// A string is uvarint(k): k > 0 names entry k-1 of the table; k == 0 is a
// new entry, uvarint(length) and the bytes, which takes the next number. A
// text (a field unique to its event: a payment's id, a document number) is
// uvarint(length) and the bytes, kept out of the table. A date is
// uvarint((year*16 + month)*32 + day), 0 for the zero Date. An amount is a
// table reference like a string, a new one being a kind byte (amountZero:
// the zero Decimal; amountSmall: varint coefficient and varint exponent;
// amountBig: sign byte, uvarint length and the coefficient's big-endian
// bytes, then the exponent). A list of indicators is a table reference
// too, a new one being uvarint(count+1) (0 for nil) and its strings.

// BinaryVersion names the binary form. Any change to it (a field, the
// order of binaryTypes) must change the version, so that segments written
// before are no longer read.
const BinaryVersion = 2

// Limits of the binary form, against a damaged segment.
const (
	maxBinaryList   = 1 << 16 // elements of one list field
	maxBinaryBigLen = 64      // bytes of a coefficient beyond int64
	maxSmallDigits  = 18      // digits of a coefficient that surely fits an int64
)

// Kinds of a new amount.
const (
	amountZero  = 0
	amountSmall = 1
	amountBig   = 2
)

// ErrBinaryForm: bytes that are not the binary form this code writes.
var ErrBinaryForm = errors.New("domain: malformed binary event")

// fieldVisitor reads or writes the fields of an event: one visit function
// per type serves both ways, so that the two cannot disagree on the order.
// Each method takes a field's value and returns it: written, or read. (A
// visit by value keeps the event on the stack; one by pointer through an
// interface would cost an allocation per event.)
type fieldVisitor interface {
	str(s string) string  // a value of few distinct ones (a region, a fund, a kind): kept in the table
	text(s string) string // a value of many (a person, a loan, a payment): written out
	date(d Date) Date
	amount(a decimal.Decimal) decimal.Decimal
	integer(n int) int
	flag(b bool) bool
	indicators(l []Indicator) []Indicator
	strs(l []string) []string
}

// strOf visits a field of a string kind.
func strOf[S ~string](v fieldVisitor, s S) S { return S(v.str(string(s))) }

// binaryType is the binary form of one event type.
type binaryType struct {
	name  string
	zero  Event // the type's zero value, for tests
	write func(w *BinaryWriter, e Event)
	read  func(r *BinaryReader) Event
}

func binaryOf[E Event](visit func(v fieldVisitor, e E) E) binaryType {
	var zero E
	return binaryType{
		name:  zero.EventType(),
		zero:  zero,
		write: func(w *BinaryWriter, e Event) { visit(w, e.(E)) },
		read:  func(r *BinaryReader) Event { return visit(r, zero) },
	}
}

// binaryTypes are the types with a binary form: those the views read. Their
// order is part of the form (BinaryVersion).
var binaryTypes = []binaryType{
	binaryOf(func(v fieldVisitor, e RegionDefined) RegionDefined {
		e.Code = v.str(e.Code)
		e.Name = v.str(e.Name)
		e.ParentCode = v.str(e.ParentCode)
		e.PoorVillage = v.flag(e.PoorVillage)
		e.CreditVillage = v.flag(e.CreditVillage)
		e.Date = v.date(e.Date)
		return e
	}),
	binaryOf(func(v fieldVisitor, e FundOpened) FundOpened {
		e.FundID = v.str(e.FundID)
		e.Name = v.str(e.Name)
		e.Kind = strOf(v, e.Kind)
		e.RegionCode = v.str(e.RegionCode)
		e.Date = v.date(e.Date)
		e.Document = v.text(e.Document)
		return e
	}),
	binaryOf(func(v fieldVisitor, e FundAllocated) FundAllocated {
		e.FundID = v.str(e.FundID)
		e.RegionCode = v.str(e.RegionCode)
		e.Amount = v.amount(e.Amount)
		e.Date = v.date(e.Date)
		e.Document = v.text(e.Document)
		return e
	}),
	binaryOf(func(v fieldVisitor, e SubsidyPaid) SubsidyPaid {
		e.PaymentID = v.text(e.PaymentID)
		e.ProgramID = v.str(e.ProgramID)
		e.SubsidyType = strOf(v, e.SubsidyType)
		e.BeneficiaryID = v.text(e.BeneficiaryID)
		e.FundID = v.str(e.FundID)
		e.RegionCode = v.str(e.RegionCode)
		e.Amount = v.amount(e.Amount)
		e.Date = v.date(e.Date)
		e.Document = v.text(e.Document)
		return e
	}),
	binaryOf(func(v fieldVisitor, e SubsidyReversed) SubsidyReversed {
		e.PaymentID = v.text(e.PaymentID)
		e.ProgramID = v.str(e.ProgramID)
		e.BeneficiaryID = v.text(e.BeneficiaryID)
		e.FundID = v.str(e.FundID)
		e.RegionCode = v.str(e.RegionCode)
		e.Amount = v.amount(e.Amount)
		e.Date = v.date(e.Date)
		e.Reason = v.text(e.Reason)
		e.Document = v.text(e.Document)
		return e
	}),
	binaryOf(func(v fieldVisitor, e LoanIssued) LoanIssued {
		e.LoanID = v.text(e.LoanID)
		e.BorrowerID = v.text(e.BorrowerID)
		e.BorrowerKind = strOf(v, e.BorrowerKind)
		e.Partners = v.strs(e.Partners)
		e.Bank = v.str(e.Bank)
		e.Principal = v.amount(e.Principal)
		e.AnnualRate = v.amount(e.AnnualRate)
		e.TermMonths = v.integer(e.TermMonths)
		e.IssueDate = v.date(e.IssueDate)
		e.GuaranteeFundID = v.str(e.GuaranteeFundID)
		e.RegionCode = v.str(e.RegionCode)
		e.PoorVillage = v.flag(e.PoorVillage)
		e.CounterGuaranteeWaived = v.flag(e.CounterGuaranteeWaived)
		e.JobsCreated = v.integer(e.JobsCreated)
		e.Document = v.text(e.Document)
		return e
	}),
	binaryOf(func(v fieldVisitor, e LoanRepaid) LoanRepaid {
		e.LoanID = v.text(e.LoanID)
		e.Bank = v.str(e.Bank)
		e.Principal = v.amount(e.Principal)
		e.Interest = v.amount(e.Interest)
		e.Date = v.date(e.Date)
		return e
	}),
	binaryOf(func(v fieldVisitor, e InterestSubsidyPaid) InterestSubsidyPaid {
		e.LoanID = v.text(e.LoanID)
		e.FundID = v.str(e.FundID)
		e.RegionCode = v.str(e.RegionCode)
		e.Amount = v.amount(e.Amount)
		e.PeriodEnd = v.date(e.PeriodEnd)
		e.Document = v.text(e.Document)
		return e
	}),
	binaryOf(func(v fieldVisitor, e LoanDefaulted) LoanDefaulted {
		e.LoanID = v.text(e.LoanID)
		e.Date = v.date(e.Date)
		e.Reason = v.text(e.Reason)
		return e
	}),
	binaryOf(func(v fieldVisitor, e LoanCompensated) LoanCompensated {
		e.LoanID = v.text(e.LoanID)
		e.GuaranteeFundID = v.str(e.GuaranteeFundID)
		e.Bank = v.str(e.Bank)
		e.Amount = v.amount(e.Amount)
		e.Date = v.date(e.Date)
		e.Document = v.text(e.Document)
		return e
	}),
	binaryOf(func(v fieldVisitor, e LoanRecovered) LoanRecovered {
		e.LoanID = v.text(e.LoanID)
		e.GuaranteeFundID = v.str(e.GuaranteeFundID)
		e.Amount = v.amount(e.Amount)
		e.Date = v.date(e.Date)
		return e
	}),
	binaryOf(func(v fieldVisitor, e LoanWrittenOff) LoanWrittenOff {
		e.LoanID = v.text(e.LoanID)
		e.FundID = v.str(e.FundID)
		e.GuaranteeFundID = v.str(e.GuaranteeFundID)
		e.Amount = v.amount(e.Amount)
		e.Date = v.date(e.Date)
		e.Document = v.text(e.Document)
		return e
	}),
	binaryOf(func(v fieldVisitor, e LoanClosed) LoanClosed {
		e.LoanID = v.text(e.LoanID)
		e.Date = v.date(e.Date)
		return e
	}),
	binaryOf(func(v fieldVisitor, e PlacementRecorded) PlacementRecorded {
		e.PlacementID = v.text(e.PlacementID)
		e.BeneficiaryID = v.text(e.BeneficiaryID)
		e.Kind = strOf(v, e.Kind)
		e.RegionCode = v.str(e.RegionCode)
		e.Date = v.date(e.Date)
		e.Employer = v.str(e.Employer)
		e.Indicators = v.indicators(e.Indicators)
		return e
	}),
	binaryOf(func(v fieldVisitor, e PlacementReversed) PlacementReversed {
		e.PlacementID = v.text(e.PlacementID)
		e.BeneficiaryID = v.text(e.BeneficiaryID)
		e.RegionCode = v.str(e.RegionCode)
		e.PlacementDate = v.date(e.PlacementDate)
		e.Indicators = v.indicators(e.Indicators)
		e.Date = v.date(e.Date)
		e.Reason = v.text(e.Reason)
		return e
	}),
	binaryOf(func(v fieldVisitor, e TrainingRecorded) TrainingRecorded {
		e.TrainingID = v.text(e.TrainingID)
		e.BeneficiaryID = v.text(e.BeneficiaryID)
		e.CourseKind = strOf(v, e.CourseKind)
		e.RegionCode = v.str(e.RegionCode)
		e.Date = v.date(e.Date)
		return e
	}),
	binaryOf(func(v fieldVisitor, e TargetSet) TargetSet {
		e.RegionCode = v.str(e.RegionCode)
		e.Year = v.integer(e.Year)
		e.Indicator = strOf(v, e.Indicator)
		e.Issuer = strOf(v, e.Issuer)
		e.Value = v.amount(e.Value)
		e.Direction = strOf(v, e.Direction)
		e.Revision = v.integer(e.Revision)
		e.Date = v.date(e.Date)
		e.Document = v.text(e.Document)
		return e
	}),
	binaryOf(func(v fieldVisitor, e StatisticReported) StatisticReported {
		e.RegionCode = v.str(e.RegionCode)
		e.Year = v.integer(e.Year)
		e.Indicator = strOf(v, e.Indicator)
		e.Value = v.amount(e.Value)
		e.Date = v.date(e.Date)
		e.Document = v.text(e.Document)
		return e
	}),
}

// binaryCodes maps a wire name to its code in the binary form.
var binaryCodes = func() map[string]uint64 {
	m := make(map[string]uint64, len(binaryTypes))
	for i, t := range binaryTypes {
		m[t.name] = uint64(i + 1)
	}
	return m
}()

// HasBinaryForm reports whether events of a type have a binary form of
// their own; the others are written as their JSON.
func HasBinaryForm(eventType string) bool {
	_, ok := binaryCodes[eventType]
	return ok
}

// amountKey is an amount of the writer's table: its coefficient (when it
// fits an int64) and exponent.
type amountKey struct {
	coef int64
	exp  int32
}

// BinaryWriter appends events in the binary form, numbering repeated values
// in its table. Not safe for concurrent use.
type BinaryWriter struct {
	buf     []byte
	key     []byte // a list's key, built here to look it up without allocating
	strings map[string]uint64
	amounts map[amountKey]uint64
	lists   map[string]uint64
	err     error
}

// NewBinaryWriter returns a writer with an empty table.
func NewBinaryWriter() *BinaryWriter {
	w := &BinaryWriter{}
	w.Reset()
	return w
}

// Reset empties the table: what the writer appends next begins a segment.
func (w *BinaryWriter) Reset() {
	if w.strings == nil {
		w.strings, w.amounts, w.lists = map[string]uint64{}, map[amountKey]uint64{}, map[string]uint64{}
	}
	clear(w.strings)
	clear(w.amounts)
	clear(w.lists)
}

// AppendEvent appends e in the binary form to dst.
func (w *BinaryWriter) AppendEvent(dst []byte, e Event) ([]byte, error) {
	if e == nil {
		return dst, fmt.Errorf("domain: binary form of a nil event")
	}
	w.buf, w.err = dst, nil
	code, ok := binaryCodes[e.EventType()]
	if !ok {
		return w.appendJSON(e)
	}
	w.buf = binary.AppendUvarint(w.buf, code)
	binaryTypes[code-1].write(w, e)
	return w.buf, w.err
}

// appendJSON appends an event without a binary form as its JSON.
func (w *BinaryWriter) appendJSON(e Event) ([]byte, error) {
	name, data, err := Encode(e)
	if err != nil {
		return w.buf, err
	}
	w.buf = binary.AppendUvarint(w.buf, 0)
	w.str(name)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(data)))
	return append(w.buf, data...), nil
}

// AppendString appends s as a string of the table (for what a segment
// keeps beside its events, such as their types and dates).
func (w *BinaryWriter) AppendString(dst []byte, s string) []byte {
	w.buf = dst
	w.str(s)
	return w.buf
}

func (w *BinaryWriter) str(s string) string {
	if k, ok := w.strings[s]; ok {
		w.buf = binary.AppendUvarint(w.buf, k)
		return s
	}
	w.strings[s] = uint64(len(w.strings) + 1)
	w.buf = binary.AppendUvarint(w.buf, 0)
	return w.text(s)
}

func (w *BinaryWriter) text(s string) string {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(s)))
	w.buf = append(w.buf, s...)
	return s
}

func (w *BinaryWriter) date(d Date) Date {
	w.buf = binary.AppendUvarint(w.buf, packDate(d))
	return d
}

// packDate is a date as one number, 0 for the zero Date.
func packDate(d Date) uint64 {
	if d.IsZero() {
		return 0
	}
	return (uint64(d.year)*16+uint64(d.month))*32 + uint64(d.day)
}

func (w *BinaryWriter) amount(a decimal.Decimal) decimal.Decimal {
	small := a.NumDigits() <= maxSmallDigits
	key := amountKey{exp: a.Exponent()}
	if small {
		key.coef = a.CoefficientInt64()
		if k, ok := w.amounts[key]; ok && !isZeroValue(a) {
			w.buf = binary.AppendUvarint(w.buf, k)
			return a
		}
	}
	w.buf = binary.AppendUvarint(w.buf, 0)
	switch {
	case isZeroValue(a):
		w.buf = append(w.buf, amountZero)
		return a // not numbered: the zero Decimal is not decimal.New(0, 0)
	case small:
		w.buf = append(w.buf, amountSmall)
		w.buf = binary.AppendVarint(w.buf, key.coef)
	default:
		coef := a.Coefficient()
		w.buf = append(w.buf, amountBig, byte(coef.Sign()+1))
		abs := coef.Abs(coef).Bytes()
		w.buf = binary.AppendUvarint(w.buf, uint64(len(abs)))
		w.buf = append(w.buf, abs...)
	}
	w.buf = binary.AppendVarint(w.buf, int64(key.exp))
	n := uint64(len(w.amounts) + 1)
	if small {
		w.amounts[key] = n
	} else {
		// Not found again by key, but numbered all the same, so that the
		// reader's table and the writer's stay in step.
		w.amounts[amountKey{coef: math.MinInt64, exp: int32(-n)}] = n
	}
	return a
}

// isZeroValue reports the zero Decimal, which differs from decimal.New(0, 0)
// in its (absent) coefficient.
func isZeroValue(a decimal.Decimal) bool {
	return a == decimal.Decimal{}
}

func (w *BinaryWriter) integer(n int) int {
	w.buf = binary.AppendVarint(w.buf, int64(n))
	return n
}

func (w *BinaryWriter) flag(b bool) bool {
	v := byte(0)
	if b {
		v = 1
	}
	w.buf = append(w.buf, v)
	return b
}

func (w *BinaryWriter) indicators(l []Indicator) []Indicator {
	w.key = appendListKey(w.key[:0], l)
	if k, ok := w.lists[string(w.key)]; ok {
		w.buf = binary.AppendUvarint(w.buf, k)
		return l
	}
	w.lists[string(w.key)] = uint64(len(w.lists) + 1)
	w.buf = binary.AppendUvarint(w.buf, 0)
	w.listLen(l == nil, len(l))
	for _, ind := range l {
		w.str(string(ind))
	}
	return l
}

// appendListKey appends a key that tells lists apart, nil from empty included.
func appendListKey(dst []byte, l []Indicator) []byte {
	if l == nil {
		return dst
	}
	dst = append(dst, '[')
	for _, ind := range l {
		dst = append(append(dst, ind...), 0)
	}
	return dst
}

func (w *BinaryWriter) strs(l []string) []string {
	w.listLen(l == nil, len(l))
	for _, x := range l {
		w.str(x)
	}
	return l
}

// listLen writes a list's length: 0 for nil, n+1 for n elements.
func (w *BinaryWriter) listLen(isNil bool, n int) {
	if isNil {
		w.buf = binary.AppendUvarint(w.buf, 0)
		return
	}
	w.buf = binary.AppendUvarint(w.buf, uint64(n)+1)
}

// BinaryReader reads what one BinaryWriter appended, from the start of a
// segment. The strings, amounts and lists it returns are shared between the
// events read; callers must not modify them. Not safe for concurrent use.
type BinaryReader struct {
	b       []byte
	last    int // the number of the string str read last
	strings []string
	amounts []decimal.Decimal
	lists   [][]Indicator
	err     error
	shared  bool // texts share the segment's bytes (ResetShared)
}

// Reset starts reading a segment: the table empties.
func (r *BinaryReader) Reset(segment []byte) {
	r.b, r.err, r.shared = segment, nil, false
	clear(r.strings)
	clear(r.lists)
	r.strings, r.amounts, r.lists = r.strings[:0], r.amounts[:0], r.lists[:0]
}

// ResetShared is Reset for a segment that is never changed or reused
// while a string read from it lives: the texts written out in full (ids
// of persons, loans, payments, documents) are then read as strings that
// share its bytes, not copies, which saves an allocation for most of
// them. A string kept long after keeps the whole segment in memory;
// strings.Clone it. The table's strings are copies either way.
func (r *BinaryReader) ResetShared(segment []byte) {
	r.Reset(segment)
	r.shared = true
}

// Len is the number of bytes not yet read.
func (r *BinaryReader) Len() int { return len(r.b) }

// Err is the first malformation met, wrapping ErrBinaryForm.
func (r *BinaryReader) Err() error { return r.err }

// Event reads the next event.
func (r *BinaryReader) Event() (Event, error) {
	code := r.Uvarint()
	switch {
	case r.err != nil:
		return nil, r.err
	case code == 0:
		return r.readJSON()
	case code > uint64(len(binaryTypes)):
		r.fail("event code %d", code)
		return nil, r.err
	}
	e := binaryTypes[code-1].read(r)
	if r.err != nil {
		return nil, r.err
	}
	return e, nil
}

// readJSON reads an event stored as its JSON.
func (r *BinaryReader) readJSON() (Event, error) {
	name := r.str("")
	data := r.Fixed(int(min(r.Uvarint(), uint64(len(r.b)+1))))
	if r.err != nil {
		return nil, r.err
	}
	e, err := Decode(name, data)
	if err != nil {
		r.fail("%v", err)
		return nil, r.err
	}
	return e, nil
}

// ReadString reads a string of the table (BinaryWriter.AppendString),
// with its number there (1, 2, ...): the same number names the same string
// throughout the segment, so that a caller can keep what it derives from
// the string by number.
func (r *BinaryReader) ReadString() (string, int) {
	s := r.str("")
	return s, r.last
}

// Uvarint reads an unsigned varint.
func (r *BinaryReader) Uvarint() uint64 {
	// One to three bytes, the common cases (a table's number, a count, a
	// number the views gave a person or an account), without the loop's call.
	b := r.b
	switch {
	case len(b) > 0 && b[0] < 0x80:
		r.b = b[1:]
		return uint64(b[0])
	case len(b) > 1 && b[1] < 0x80:
		r.b = b[2:]
		return uint64(b[0]&0x7f) | uint64(b[1])<<7
	case len(b) > 2 && b[1] >= 0x80 && b[2] < 0x80:
		r.b = b[3:]
		return uint64(b[0]&0x7f) | uint64(b[1]&0x7f)<<7 | uint64(b[2])<<14
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Varint reads a signed varint.
func (r *BinaryReader) Varint() int64 { return r.varint() }

func (r *BinaryReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Fixed reads n bytes, which alias the segment.
func (r *BinaryReader) Fixed(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail("%d bytes past the end", n)
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// fail records the first malformation and stops the reading.
func (r *BinaryReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrBinaryForm, fmt.Sprintf(format, args...))
	}
	r.b = nil
}

func (r *BinaryReader) str(string) string {
	k := r.Uvarint()
	switch {
	case r.err != nil:
	case k == 0:
		s := string(r.textBytes())
		if r.err == nil {
			r.strings = append(r.strings, s)
			r.last = len(r.strings)
		}
		return s
	case k > uint64(len(r.strings)):
		r.fail("string %d of %d", k, len(r.strings))
	default:
		r.last = int(k)
		return r.strings[k-1]
	}
	return ""
}

func (r *BinaryReader) text(string) string {
	b := r.textBytes()
	if !r.shared || len(b) == 0 {
		return string(b)
	}
	return unsafe.String(&b[0], len(b))
}

// textBytes reads a length and that many bytes.
func (r *BinaryReader) textBytes() []byte {
	return r.Fixed(int(min(r.Uvarint(), uint64(len(r.b)+1))))
}

func (r *BinaryReader) date(Date) Date {
	v := r.Uvarint()
	if v == 0 || r.err != nil {
		return Date{}
	}
	y, m, day := v/(16*32), v/32%16, v%32
	d, ok := NewDate(int(min(y, math.MaxInt16)), int(m), int(day))
	if !ok {
		r.fail("date %d", v)
	}
	return d
}

func (r *BinaryReader) amount(decimal.Decimal) decimal.Decimal {
	k := r.Uvarint()
	switch {
	case r.err != nil:
	case k == 0:
		return r.newAmount()
	case k > uint64(len(r.amounts)):
		r.fail("amount %d of %d", k, len(r.amounts))
	default:
		return r.amounts[k-1]
	}
	return decimal.Decimal{}
}

// newAmount reads an amount written out, numbering it unless it is the
// zero Decimal.
func (r *BinaryReader) newAmount() decimal.Decimal {
	kind := r.Fixed(1)
	if r.err != nil {
		return decimal.Decimal{}
	}
	var a decimal.Decimal
	switch kind[0] {
	case amountZero:
		return decimal.Decimal{}
	case amountSmall:
		coef := r.varint()
		a = decimal.New(coef, r.exponent())
	case amountBig:
		sign := r.Fixed(1)
		abs := r.Fixed(int(min(r.Uvarint(), maxBinaryBigLen+1)))
		if r.err != nil || len(abs) > maxBinaryBigLen || sign[0] > 2 {
			r.fail("amount coefficient")
			return decimal.Decimal{}
		}
		coef := new(big.Int).SetBytes(abs)
		if sign[0] == 0 {
			coef.Neg(coef)
		}
		a = decimal.NewFromBigInt(coef, r.exponent())
	default:
		r.fail("amount kind %d", kind[0])
		return decimal.Decimal{}
	}
	if r.err == nil {
		r.amounts = append(r.amounts, a)
	}
	return a
}

func (r *BinaryReader) exponent() int32 {
	exp := r.varint()
	if exp < math.MinInt32 || exp > math.MaxInt32 {
		r.fail("exponent %d", exp)
		return 0
	}
	return int32(exp)
}

func (r *BinaryReader) integer(int) int {
	return int(r.varint())
}

func (r *BinaryReader) flag(bool) bool {
	v := r.Fixed(1)
	switch {
	case r.err != nil:
		return false
	case v[0] > 1:
		r.fail("flag %d", v[0])
		return false
	}
	return v[0] == 1
}

func (r *BinaryReader) indicators([]Indicator) []Indicator {
	k := r.Uvarint()
	switch {
	case r.err != nil:
	case k == 0:
		list := r.newIndicators()
		if r.err == nil {
			r.lists = append(r.lists, list)
			return list
		}
	case k > uint64(len(r.lists)):
		r.fail("list %d of %d", k, len(r.lists))
	default:
		return r.lists[k-1]
	}
	return nil
}

func (r *BinaryReader) newIndicators() []Indicator {
	n, isNil := r.listLen()
	if isNil {
		return nil
	}
	list := make([]Indicator, n)
	for i := range list {
		list[i] = Indicator(r.str(""))
	}
	return list
}

func (r *BinaryReader) strs([]string) []string {
	n, isNil := r.listLen()
	if isNil {
		return nil
	}
	l := make([]string, n)
	for i := range l {
		l[i] = r.str("")
	}
	return l
}

// listLen reads a list's length, bounded by what remains to be read.
func (r *BinaryReader) listLen() (n int, isNil bool) {
	v := r.Uvarint()
	switch {
	case r.err != nil, v == 0:
		return 0, true
	case v-1 > maxBinaryList || v-1 > uint64(len(r.b)):
		r.fail("list of %d", v-1)
		return 0, true
	}
	return int(v - 1), false
}
