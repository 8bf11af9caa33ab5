package domain_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"testing"
	"unsafe"

	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
)

// oddBinaryCases are events whose binary form has to keep apart what is
// easily merged: nil and empty lists, the zero Decimal and zero, an
// amount's exponent, amounts past int64, zero dates, negative numbers, and
// types stored as their JSON.
func oddBinaryCases() []domain.Event {
	huge, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	return []domain.Event{
		domain.PlacementRecorded{PlacementID: "P1", BeneficiaryID: "p", Indicators: nil},
		domain.PlacementRecorded{PlacementID: "P2", BeneficiaryID: "p", Indicators: []domain.Indicator{}},
		domain.PlacementReversed{PlacementID: "P1", Indicators: []domain.Indicator{domain.NewUrbanJobs}},
		domain.SubsidyPaid{PaymentID: "S1", Amount: decimal.Decimal{}},
		domain.SubsidyPaid{PaymentID: "S2", Amount: decimal.New(0, 0)},
		domain.SubsidyPaid{PaymentID: "S3", Amount: decimal.New(500, 0)},
		domain.SubsidyPaid{PaymentID: "S4", Amount: decimal.New(50000, -2)},
		domain.SubsidyPaid{PaymentID: "S5", Amount: decimal.NewFromBigInt(huge, -2)},
		domain.SubsidyPaid{PaymentID: "S6", Amount: decimal.NewFromBigInt(huge, -2)},
		domain.SubsidyReversed{PaymentID: "S6", Amount: decimal.New(-1, -2), Reason: "错付"},
		domain.LoanIssued{LoanID: "L1", Partners: []string{}, TermMonths: -3, JobsCreated: 1 << 40},
		domain.LoanIssued{LoanID: "L2", Partners: []string{"p2", "p3", "p2"}, PoorVillage: true},
		domain.TargetSet{RegionCode: "610000", Year: 2017, Value: decimal.New(39, -1), Direction: domain.Ceiling},
		domain.BeneficiaryRegistered{BeneficiaryID: "p9", Personal: []byte{0, 1, 2}, Date: d("2017-01-01")},
		domain.LoanPolicySet{LoanPolicy: domain.LoanPolicy{EffectiveFrom: d("2020-01-01"), IndividualMax: yuan("200000")}},
	}
}

// binaryLog is every kind of event in every shape the tests know: the
// fast decoders' cases, the odd ones, the fixture's life and random logs.
func binaryLog(t testing.TB) []domain.Event {
	var events []domain.Event
	for _, tc := range fastCases {
		events = append(events, tc.event)
	}
	events = append(events, oddBinaryCases()...)
	events = append(events, lifeEvents(t)...)
	for _, seed := range []uint64{firstSeed, firstSeed + 1} {
		events = append(events, randomLog(t, seed, 2000)...)
	}
	return events
}

// writeSegment writes events as one segment.
func writeSegment(t testing.TB, events []domain.Event) []byte {
	w := domain.NewBinaryWriter()
	var seg []byte
	for _, e := range events {
		var err error
		if seg, err = w.AppendEvent(seg, e); err != nil {
			t.Fatalf("binary form of %#v: %v", e, err)
		}
	}
	return seg
}

// readSegment reads n events of a segment.
func readSegment(seg []byte, n int) ([]domain.Event, error) {
	var r domain.BinaryReader
	r.Reset(seg)
	return readEvents(&r, n)
}

// readEvents reads n events, the last of the segment r was reset to.
func readEvents(r *domain.BinaryReader, n int) ([]domain.Event, error) {
	events := make([]domain.Event, 0, n)
	for range n {
		e, err := r.Event()
		if err != nil {
			return events, err
		}
		events = append(events, e)
	}
	if r.Len() != 0 {
		return events, fmt.Errorf("%d bytes left", r.Len())
	}
	return events, nil
}

// TestBinaryFormRoundTrip: a segment reads back the very events written,
// each field as it was, whatever repeats between them.
func TestBinaryFormRoundTrip(t *testing.T) {
	events := binaryLog(t)
	seg := writeSegment(t, events)
	got, err := readSegment(seg, len(events))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range events {
		if err := sameEvent(reflect.ValueOf(got[i]), reflect.ValueOf(writtenAs(t, e))); err != nil {
			t.Fatalf("event %d: got %#v, want %#v: %v", i, got[i], e, err)
		}
		logged := throughJSON(t, e) // what a view reads of the log
		again, err := readSegment(writeSegment(t, []domain.Event{logged}), 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameEvent(reflect.ValueOf(again[0]), reflect.ValueOf(logged)); err != nil {
			t.Fatalf("event %d as the log gives it: got %#v, want %#v: %v", i, again[0], logged, err)
		}
	}
	t.Logf("%d events in %d bytes", len(events), len(seg))
}

// TestBinaryFormSharedTexts: a reader reset with ResetShared reads the
// same events, their texts sharing the segment's bytes; one reset with
// Reset copies them.
func TestBinaryFormSharedTexts(t *testing.T) {
	events := binaryLog(t)
	seg := writeSegment(t, events)
	for _, shared := range []bool{false, true} {
		var r domain.BinaryReader
		if shared {
			r.ResetShared(seg)
		} else {
			r.Reset(seg)
		}
		got, err := readEvents(&r, len(events))
		if err != nil {
			t.Fatal(err)
		}
		inSegment := 0
		for i, e := range events {
			if err := sameEvent(reflect.ValueOf(got[i]), reflect.ValueOf(writtenAs(t, e))); err != nil {
				t.Fatalf("shared %v, event %d: got %#v, want %#v: %v", shared, i, got[i], e, err)
			}
			if p, ok := got[i].(domain.SubsidyPaid); ok && within(p.PaymentID, seg) {
				inSegment++
			}
		}
		if shared != (inSegment > 0) {
			t.Errorf("shared %v: got %d payment ids in the segment's bytes", shared, inSegment)
		}
	}
}

// within reports whether s lies in b's bytes.
func within(s string, b []byte) bool {
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return s != "" && p >= lo && p < lo+uintptr(len(b))
}

// TestBinaryFormKeepsEveryField: every field of every type with a binary
// form of its own, set to a value of its own, reads back; a field added to
// an event and forgotten in its visit function fails here.
func TestBinaryFormKeepsEveryField(t *testing.T) {
	for _, zero := range domain.BinaryTypes() {
		t.Run(zero.EventType(), func(t *testing.T) {
			v := reflect.New(reflect.TypeOf(zero)).Elem()
			for i := range v.NumField() {
				fillField(t, v.Field(i), i+1)
			}
			e := v.Interface().(domain.Event)
			got, err := readSegment(writeSegment(t, []domain.Event{e}), 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameEvent(reflect.ValueOf(got[0]), reflect.ValueOf(e)); err != nil {
				t.Fatalf("got %#v, want %#v: %v", got[0], e, err)
			}
		})
	}
}

// fillField sets a field to a value derived from n, unlike any other field's.
func fillField(t *testing.T, f reflect.Value, n int) {
	switch {
	case f.Type() == decimalType:
		f.Set(reflect.ValueOf(decimal.New(int64(1000+n), -2)))
	case f.Type() == reflect.TypeFor[domain.Date]():
		f.Set(reflect.ValueOf(domain.MustDate(fmt.Sprintf("2020-01-%02d", n))))
	case f.Kind() == reflect.String:
		f.SetString(fmt.Sprintf("value-%d", n))
	case f.Kind() == reflect.Int:
		f.SetInt(int64(n))
	case f.Kind() == reflect.Bool:
		f.SetBool(true)
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		list := reflect.MakeSlice(f.Type(), 2, 2)
		list.Index(0).SetString(fmt.Sprintf("item-%d-a", n))
		list.Index(1).SetString(fmt.Sprintf("item-%d-b", n))
		f.Set(list)
	default:
		t.Fatalf("no value for a field of type %v", f.Type())
	}
}

// TestBinaryFormSharesRepeats: a value met before in the segment is
// written as its number, and a new segment starts its table afresh.
func TestBinaryFormSharesRepeats(t *testing.T) {
	e := domain.SubsidyPaid{PaymentID: "S1", ProgramID: "JOBSEARCH", SubsidyType: domain.JobSearch, BeneficiaryID: "p0000001",
		FundID: "EMP", RegionCode: "610901", Amount: yuan("500"), Date: d("2026-03-01"), Document: "人社发〔2026〕8号"}
	w := domain.NewBinaryWriter()
	first, _ := w.AppendEvent(nil, e)
	again, _ := w.AppendEvent(nil, e)
	if len(again) >= len(first)*2/3 {
		t.Errorf("got %d bytes for a repeat of a %d-byte event, want under two thirds", len(again), len(first))
	}
	w.Reset()
	if fresh, _ := w.AppendEvent(nil, e); len(fresh) != len(first) {
		t.Errorf("got %d bytes after Reset, want %d as at the start", len(fresh), len(first))
	}
}

// TestBinaryFormRefusesDamage: a segment cut short, or with a table
// reference, code, date or flag out of range, is an error wrapping
// ErrBinaryForm, never a panic nor a different event.
func TestBinaryFormRefusesDamage(t *testing.T) {
	events := oddBinaryCases()
	seg := writeSegment(t, events)
	for cut := range len(seg) {
		if _, err := readSegment(seg[:cut], len(events)); !errors.Is(err, domain.ErrBinaryForm) {
			t.Fatalf("cut at %d of %d: got %v, want ErrBinaryForm", cut, len(seg), err)
		}
	}
	cases := []struct {
		name string
		seg  []byte
	}{
		{"an unknown event code", []byte{0x7f}},
		{"a string the table lacks", []byte{0x0d, 0x05}},
		{"the 31st of February", append([]byte{0x0d, 0x00, 0x01, 'L'}, packedDate(2017, 2, 31)...)},
		{"a flag of 2", []byte{0x01, 0x00, 0x01, 'c', 0x00, 0x00, 0x01, 0x00, 0x02}},
		{"an amount of an unknown kind", []byte{0x04, 0x01, 'S', 0x00, 0x00, 0x01, 0x01, 0x01, 0x01, 0x00, 0x09}},
		{"a list longer than the segment", []byte{0x0e, 0x01, 'P', 0x00, 0x00, 0x01, 0x01, 0x00, 0x01, 0x00, 0x7f}},
		{"JSON that is not the event", append([]byte{0x00, 0x00, 0x01, 'x', 0x02}, "{}"...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := readSegment(tc.seg, 1); !errors.Is(err, domain.ErrBinaryForm) {
				t.Errorf("got %v, want ErrBinaryForm", err)
			}
		})
	}
}

// packedDate is a date in the binary form, whether or not it exists.
func packedDate(y, m, d uint64) []byte {
	v := (y*16+m)*32 + d
	var out []byte
	for v >= 0x80 {
		out = append(out, byte(v)|0x80)
		v >>= 7
	}
	return append(out, byte(v))
}

// FuzzBinaryRead: whatever the bytes, reading them fails cleanly or gives
// events that write and read back the same.
func FuzzBinaryRead(f *testing.F) {
	f.Add(writeSegment(f, oddBinaryCases()))
	for _, tc := range fastCases {
		f.Add(writeSegment(f, []domain.Event{tc.event, tc.event}))
	}
	f.Fuzz(func(t *testing.T, seg []byte) {
		var r domain.BinaryReader
		r.Reset(seg)
		var events []domain.Event
		for r.Len() > 0 {
			e, err := r.Event()
			if err != nil {
				if !errors.Is(err, domain.ErrBinaryForm) {
					t.Fatalf("got %v, want ErrBinaryForm", err)
				}
				return
			}
			events = append(events, e)
		}
		again, err := readSegment(writeSegment(t, events), len(events))
		if err != nil {
			t.Fatal(err)
		}
		for i := range events {
			if err := sameEvent(reflect.ValueOf(again[i]), reflect.ValueOf(writtenAs(t, events[i]))); err != nil {
				t.Fatalf("event %d: got %#v, want %#v: %v", i, again[i], events[i], err)
			}
		}
	})
}

// writtenAs is what the binary form keeps of an event: all of it, or for
// a type without a form of its own, what its JSON keeps.
func writtenAs(t testing.TB, e domain.Event) domain.Event {
	if domain.HasBinaryForm(e.EventType()) {
		return e
	}
	return throughJSON(t, e)
}

// throughJSON is the event its JSON gives back.
func throughJSON(t testing.TB, e domain.Event) domain.Event {
	eventType, data, err := domain.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	back, err := domain.Decode(eventType, data)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

// BenchmarkBinaryRead reads the events of a random log that have a binary
// form of their own (those the views read), as a rebuild reads a segment.
func BenchmarkBinaryRead(b *testing.B) {
	var events []domain.Event
	for _, e := range randomLog(b, firstSeed, 2000) {
		if domain.HasBinaryForm(e.EventType()) {
			events = append(events, e)
		}
	}
	seg := writeSegment(b, events)
	for b.Loop() {
		if _, err := readSegment(seg, len(events)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}

var decimalType = reflect.TypeFor[decimal.Decimal]()

// exportedOnly reports a struct whose fields can all be compared one by
// one (a Date or a time.Time cannot, and is compared whole).
func exportedOnly(t reflect.Type) bool {
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			return false
		}
	}
	return true
}

// sameEvent compares two values field by field, decimals by value,
// exponent and whether they are the zero Decimal (reflect.DeepEqual would
// also compare the insides of their big.Int).
func sameEvent(got, want reflect.Value) error {
	if got.Type() != want.Type() {
		return fmt.Errorf("type %v, want %v", got.Type(), want.Type())
	}
	switch {
	case got.Type() == decimalType:
		g, w := got.Interface().(decimal.Decimal), want.Interface().(decimal.Decimal)
		if !g.Equal(w) || g.Exponent() != w.Exponent() || (g == decimal.Decimal{}) != (w == decimal.Decimal{}) {
			return fmt.Errorf("amount %v (exponent %d), want %v (exponent %d)", g, g.Exponent(), w, w.Exponent())
		}
	case got.Kind() == reflect.Interface:
		return sameEvent(got.Elem(), want.Elem())
	case got.Kind() == reflect.Struct && exportedOnly(got.Type()):
		for i := range got.NumField() {
			if err := sameEvent(got.Field(i), want.Field(i)); err != nil {
				return fmt.Errorf("%s: %w", got.Type().Field(i).Name, err)
			}
		}
	case got.Kind() == reflect.Slice:
		if got.IsNil() != want.IsNil() || got.Len() != want.Len() {
			return fmt.Errorf("list of %d (nil %t), want %d (nil %t)", got.Len(), got.IsNil(), want.Len(), want.IsNil())
		}
		for i := range got.Len() {
			if err := sameEvent(got.Index(i), want.Index(i)); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
	default:
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			return fmt.Errorf("%#v, want %#v", got.Interface(), want.Interface())
		}
	}
	return nil
}

// BenchmarkBinaryWrite writes the events of a random log that have a
// binary form of their own, decoded from their JSON through one table of
// shared values as a rebuild's worker decodes them, as a sealer writes a
// segment.
func BenchmarkBinaryWrite(b *testing.B) {
	syms := domain.NewSymbols()
	var events []domain.Event
	for _, e := range randomLog(b, firstSeed, 2000) {
		if !domain.HasBinaryForm(e.EventType()) {
			continue
		}
		eventType, data, err := domain.Encode(e)
		if err != nil {
			b.Fatal(err)
		}
		d, err := domain.DecodeWith(eventType, data, syms)
		if err != nil {
			b.Fatal(err)
		}
		events = append(events, d)
	}
	w := domain.NewBinaryWriter()
	var seg []byte
	for b.Loop() {
		w.Reset()
		seg = seg[:0]
		for _, e := range events {
			var err error
			if seg, err = w.AppendEvent(seg, e); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}

// TestBinaryReaderUvarint: the reader's uvarint, which reads one to three
// bytes itself, agrees with encoding/binary on every length, and refuses
// one cut short; its varint agrees too.
func TestBinaryReaderUvarint(t *testing.T) {
	values := []uint64{0, 1, 127, 128, 255, 16383, 16384, 1<<21 - 1, 1 << 21, 1<<28 + 5, 1<<63 + 1, math.MaxUint64}
	for _, v := range values {
		enc := binary.AppendUvarint(nil, v)
		var r domain.BinaryReader
		r.Reset(append(enc, 0x7f)) // a byte after it, left unread
		if got := r.Uvarint(); got != v || r.Err() != nil || r.Len() != 1 {
			t.Errorf("%d: got %d, %v, %d bytes left; want %d, nil, 1", v, got, r.Err(), r.Len(), v)
		}
		if len(enc) > 1 {
			r.Reset(enc[:len(enc)-1])
			if r.Uvarint(); r.Err() == nil {
				t.Errorf("%d cut to %d bytes: got no error", v, len(enc)-1)
			}
		}
	}
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, 20000, -20000, math.MaxInt64, math.MinInt64} {
		var r domain.BinaryReader
		r.Reset(binary.AppendVarint(nil, v))
		if got := r.Varint(); got != v || r.Err() != nil || r.Len() != 0 {
			t.Errorf("varint %d: got %d, %v, %d bytes left", v, got, r.Err(), r.Len())
		}
	}
	var r domain.BinaryReader
	r.Reset([]byte{0x80, 0x00}) // two bytes for 0, as encoding/binary reads it
	if got := r.Uvarint(); got != 0 || r.Err() != nil || r.Len() != 0 {
		t.Errorf("0 in two bytes: got %d, %v, %d bytes left", got, r.Err(), r.Len())
	}
}
