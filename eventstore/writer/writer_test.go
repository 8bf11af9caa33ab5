package writer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/eventstore/memory"
	"github.com/hrss-ledger/ledger/eventstore/writer"
)

// testTimeout bounds one test's calls to the writer and the store.
const testTimeout = 60 * time.Second

// The fixture: one region, one employment subsidy fund, one person and one
// program that pays any amount up to 10000, as often as asked.
const (
	region    = "610900"
	fundID    = "AK-JOBS"
	programID = "FLEX"
)

var (
	day    = domain.MustDate("2017-04-10")
	person = domain.Pseudonym([]byte("writer test key"), idNumber(0))
)

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func yuan(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// idNumber returns a valid resident ID number (GB 11643) for serial n < 1000.
func idNumber(n int) string {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	first17 := fmt.Sprintf("61090219900307%03d", n)
	sum := 0
	for i := range 17 {
		sum += int(first17[i]-'0') * weights[i]
	}
	return first17 + string("10X98765432"[sum%11])
}

// request wraps a command with an id and a fingerprint of its content.
func request(id string, cmd domain.Command) writer.Request {
	sum := sha256.Sum256(fmt.Appendf(nil, "%T%+v", cmd, cmd))
	return writer.Request{Command: cmd, CommandID: id, Fingerprint: hex.EncodeToString(sum[:]),
		Actor: "officer", CorrelationID: "case-" + id}
}

func allocate(amount string) domain.AllocateFund {
	return domain.AllocateFund{FundID: fundID, Amount: yuan(amount), Date: day, Document: "陕财社〔2017〕5号"}
}

func pay(paymentID, amount string) domain.PaySubsidy {
	return domain.PaySubsidy{PaymentID: paymentID, ProgramID: programID, BeneficiaryID: person,
		FundID: fundID, Amount: yuan(amount), Date: day, Document: "安人社发〔2017〕12号"}
}

func register(n int, personal []byte) domain.RegisterBeneficiary {
	id := idNumber(n)
	return domain.RegisterBeneficiary{BeneficiaryID: domain.Pseudonym([]byte("writer test key"), id),
		Kind: domain.Person, IDNumber: id, Personal: personal, RegionCode: region, Date: day}
}

// setup returns the commands that define the fixture, with the fund holding balance.
func setup(balance string) []writer.Request {
	cmds := []domain.Command{
		domain.DefineRegion{Code: region, Name: "安康市", Date: domain.MustDate("2017-01-01")},
		domain.OpenFund{FundID: fundID, Name: "就业补助资金", Kind: domain.FundEmploymentSubsidy, RegionCode: region, Date: domain.MustDate("2017-01-01")},
		register(0, nil),
		domain.DefineProgram{ProgramID: programID, SubsidyType: domain.OneTimeStartup, Name: "一次性创业补贴",
			AmountRule: domain.AmountRule{Max: yuan("10000")}, ValidFrom: domain.MustDate("2017-01-01"), ValidTo: domain.MustDate("2017-12-31")},
	}
	if balance != "0" {
		cmds = append(cmds, allocate(balance))
	}
	reqs := make([]writer.Request, len(cmds))
	for i, c := range cmds {
		reqs[i] = request(fmt.Sprintf("setup-%d", i), c)
	}
	return reqs
}

// open starts a writer on store, closed when the test ends.
func open(t testing.TB, store eventstore.Store) *writer.Writer {
	t.Helper()
	w, err := writer.Open(testContext(t), store)
	if err != nil {
		t.Fatalf("writer.Open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// seed executes the fixture's setup and fails the test on any refusal.
func seed(t testing.TB, w *writer.Writer, balance string) {
	t.Helper()
	_, errs := w.ExecuteAll(testContext(t), setup(balance))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("setup command %d: %v", i, err)
		}
	}
}

// readLog returns the whole log.
func readLog(t testing.TB, store eventstore.Store) []eventstore.Event {
	t.Helper()
	var events []eventstore.Event
	err := store.Read(testContext(t), 0, func(e eventstore.Event) error {
		events = append(events, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return events
}

// fundBalance folds the log into a fresh ledger, failing the test if the fund is
// ever below zero, and returns the final fund balance.
func fundBalance(t testing.TB, events []eventstore.Event) decimal.Decimal {
	t.Helper()
	l := domain.NewLedger()
	for _, e := range events {
		ev, err := domain.Decode(e.Type, e.Data)
		if err != nil {
			t.Fatalf("decode position %d: %v", e.Position, err)
		}
		l.Evolve(ev)
		if b, ok := l.FundBalance(fundID); ok && b.IsNegative() {
			t.Fatalf("fund balance %s after position %d", b, e.Position)
		}
	}
	b, _ := l.FundBalance(fundID)
	return b
}

// commits counts, per command id, the separate runs of events it has in the log.
func commits(events []eventstore.Event) map[string]int {
	runs := map[string]int{}
	for i, e := range events {
		if i == 0 || events[i-1].Meta.CommandID != e.Meta.CommandID {
			runs[e.Meta.CommandID]++
		}
	}
	return runs
}

func head(t testing.TB, store eventstore.Store) eventstore.Position {
	t.Helper()
	h, err := store.Head(testContext(t))
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return h
}

// openJetStream opens an embedded JetStream store in dir, closed when the test ends.
func openJetStream(t testing.TB, dir string, opts ...jetstream.Option) *jetstream.Store {
	t.Helper()
	s, err := jetstream.OpenEmbedded(testContext(t), dir, opts...)
	if err != nil {
		t.Fatalf("OpenEmbedded: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestExecute(t *testing.T) {
	tests := []struct {
		name      string
		cmd       domain.Command
		wantClass domain.Class // 0: accepted
		wantTypes []string
	}{
		{"an allocation is accepted and durable", allocate("500"), 0, []string{"fund.allocated.v1"}},
		{"a payment the fund covers is accepted and durable", pay("P-1", "1000"), 0, []string{"subsidy.paid.v1"}},
		{"an allocation to an unknown fund is refused", domain.AllocateFund{FundID: "NOPE", Amount: yuan("1"), Date: day, Document: "x"}, domain.NotFound, nil},
		{"a payment beyond the fund's balance is refused", pay("P-2", "1000.01"), domain.Conflict, nil},
		{"a payment with three decimals is refused", pay("P-3", "1.001"), domain.Invalid, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memory.New()
			w := open(t, store)
			seed(t, w, "1000")
			before := head(t, store)

			out, err := w.Execute(testContext(t), request("c1", tt.cmd))

			if tt.wantClass != 0 {
				var derr *domain.Error
				if !errors.As(err, &derr) {
					t.Fatalf("Execute error = %v (%T), want a *domain.Error", err, err)
				}
				if got := domain.ClassOf(err); got != tt.wantClass {
					t.Errorf("class = %v, want %v", got, tt.wantClass)
				}
				if got := head(t, store); got != before {
					t.Errorf("head after a refusal = %d, want %d", got, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Execute: %v", err)
			}
			if out.First != before+1 || out.Last != before+eventstore.Position(len(tt.wantTypes)) || out.Duplicate {
				t.Errorf("outcome = %d..%d duplicate %v, want %d..%d not duplicate", out.First, out.Last, out.Duplicate, before+1, before+eventstore.Position(len(tt.wantTypes)))
			}
			if got := w.Head(); got != out.Last {
				t.Errorf("writer head = %d, want %d", got, out.Last)
			}
			log := readLog(t, store)
			if got := eventstore.Position(len(log)); got != out.Last {
				t.Fatalf("log holds %d events, want %d", got, out.Last)
			}
			for i, typ := range tt.wantTypes {
				e := log[out.First-1+eventstore.Position(i)]
				if e.Type != typ || e.Meta.CommandID != "c1" || e.Meta.Actor != "officer" || e.Meta.CorrelationID != "case-c1" {
					t.Errorf("event %d = %s by %q for %q in %q, want %s by officer for c1 in case-c1", e.Position, e.Type, e.Meta.Actor, e.Meta.CommandID, e.Meta.CorrelationID, typ)
				}
			}
			if len(out.Events) != len(tt.wantTypes) {
				t.Errorf("outcome has %d events, want %d", len(out.Events), len(tt.wantTypes))
			}
		})
	}
}

// A refusal in a batch costs only its own command: the others land.
func TestRefusalsInABatchLeaveTheOthers(t *testing.T) {
	store := memory.New()
	w := open(t, store)
	seed(t, w, "100")
	before := head(t, store)
	reqs := []writer.Request{
		request("a", allocate("50")),
		request("b", domain.AllocateFund{FundID: "NOPE", Amount: yuan("1"), Date: day, Document: "x"}),
		request("c", pay("P-1", "200")), // 150 in the fund: an overdraft
		request("d", pay("P-2", "150")), // exactly what is left
		request("e", pay("P-3", "0.01")),
	}
	wantRefused := []bool{false, true, true, false, true}

	outs, errs := w.ExecuteAll(testContext(t), reqs)

	next := before + 1
	for i, err := range errs {
		var derr *domain.Error
		if got := errors.As(err, &derr); got != wantRefused[i] {
			t.Errorf("command %s: error %v, want refused %v", reqs[i].CommandID, err, wantRefused[i])
			continue
		}
		if !wantRefused[i] {
			if outs[i].First != next {
				t.Errorf("command %s at %d, want %d (in submission order)", reqs[i].CommandID, outs[i].First, next)
			}
			next = outs[i].Last + 1
		}
	}
	log := readLog(t, store)
	runs := commits(log[before:])
	if len(runs) != 2 || runs["a"] != 1 || runs["d"] != 1 {
		t.Errorf("commands appended = %v, want a and d once each", runs)
	}
	if got := fundBalance(t, log); !got.IsZero() {
		t.Errorf("fund balance = %s, want 0", got)
	}
}

// ack is one command's answer, kept for checking against the log.
type ack struct {
	id      string
	amount  decimal.Decimal // signed: allocations in, payments out
	out     writer.Outcome
	err     error
	refused bool
}

// hammer runs goroutines × perGoroutine commands on the writers (goroutine g
// uses writers[g % len(writers)]): payments of 10 with an allocation of 5
// every fourth command, more than the fund can pay.
func hammer(t *testing.T, writers []*writer.Writer, goroutines, perGoroutine int) []ack {
	t.Helper()
	acks := make([]ack, goroutines*perGoroutine)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			w := writers[g%len(writers)]
			for i := range perGoroutine {
				a := &acks[g*perGoroutine+i]
				a.id = fmt.Sprintf("g%d-%d", g, i)
				var cmd domain.Command
				if i%4 == 3 {
					cmd, a.amount = allocate("5"), yuan("5")
				} else {
					cmd, a.amount = pay("P-"+a.id, "10"), yuan("-10")
				}
				a.out, a.err = w.Execute(context.Background(), request(a.id, cmd))
				a.refused = errors.Is(a.err, domain.ErrFundOverdrawn)
			}
		})
	}
	wg.Wait()
	return acks
}

// checkAcks checks the log against the answers: every acknowledged command
// exactly once, where its outcome says; nothing else; the balance adds up.
// With several writers a command may also be answered ErrConflict, when its
// writer lost the race for the head more than its retries allow; it must
// then be absent from the log.
func checkAcks(t *testing.T, log []eventstore.Event, start decimal.Decimal, acks []ack, writers int) {
	t.Helper()
	runs := commits(log)
	want := start
	accepted, refused, conflicts := 0, 0, 0
	for _, a := range acks {
		switch {
		case a.err == nil:
			accepted++
			want = want.Add(a.amount)
			if runs[a.id] != 1 {
				t.Errorf("acknowledged command %s appears %d times in the log", a.id, runs[a.id])
				continue
			}
			if a.out.First == 0 || a.out.First > eventstore.Position(len(log)) || log[a.out.First-1].Meta.CommandID != a.id {
				t.Errorf("command %s: outcome position %d does not hold its event", a.id, a.out.First)
			}
		// With several writers, one that keeps losing the race to the log
		// gives up (ErrConflict, or ErrUnavailable after its retries on a
		// loaded machine) and must then have appended nothing.
		case a.refused || (writers > 1 && (errors.Is(a.err, eventstore.ErrConflict) || errors.Is(a.err, eventstore.ErrUnavailable))):
			if a.refused {
				refused++
			} else {
				conflicts++
			}
			if runs[a.id] != 0 {
				t.Errorf("command %s answered %v appears %d times in the log", a.id, a.err, runs[a.id])
			}
		default:
			t.Errorf("command %s: unexpected error %v", a.id, a.err)
		}
	}
	if got := fundBalance(t, log); !got.Equal(want) {
		t.Errorf("fund balance from the log = %s, want %s from the answers", got, want)
	}
	if accepted == 0 || refused == 0 {
		t.Errorf("%d accepted, %d refused: the test wants both", accepted, refused)
	}
	t.Logf("%d commands: %d accepted, %d refused for want of funds, %d given up after conflicts", len(acks), accepted, refused, conflicts)
}

func TestConcurrentCommandsAreDecidedInOrder(t *testing.T) {
	const goroutines, perGoroutine = 64, 40
	store := memory.New()
	w := open(t, store)
	seed(t, w, "1000")

	acks := hammer(t, []*writer.Writer{w}, goroutines, perGoroutine)

	log := readLog(t, store)
	checkAcks(t, log, yuan("1000"), acks, 1)
	for g := range goroutines {
		var last eventstore.Position
		for _, a := range acks[g*perGoroutine : (g+1)*perGoroutine] {
			if a.err == nil && a.out.First <= last {
				t.Errorf("command %s at %d, after its goroutine's previous at %d", a.id, a.out.First, last)
			}
			if a.err == nil {
				last = a.out.Last
			}
		}
	}
}

func TestIdempotency(t *testing.T) {
	tests := []struct {
		name    string
		first   writer.Request
		again   writer.Request
		wantErr error // nil: a duplicate of the first
	}{
		{"the same id and fingerprint is a duplicate", request("c1", allocate("10")), request("c1", allocate("10")), nil},
		{"the same id with another fingerprint is refused", request("c1", allocate("10")), request("c1", allocate("20")), eventstore.ErrIdempotencyMismatch},
		{"a refused command's id stays free", request("c1", pay("P-1", "99999")), request("c1", pay("P-1", "10")), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memory.New()
			w := open(t, store)
			seed(t, w, "100")
			first, firstErr := w.Execute(testContext(t), tt.first)
			before := head(t, store)

			again, err := w.Execute(testContext(t), tt.again)

			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if got := head(t, store); got != before {
					t.Errorf("head = %d, want %d", got, before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Execute again: %v", err)
			}
			if firstErr != nil { // the first was refused: the second is a new command
				if again.Duplicate || again.First != before+1 {
					t.Errorf("outcome = %+v, want a fresh append at %d", again, before+1)
				}
				return
			}
			checkDuplicate(t, again, first)
			if got := head(t, store); got != before {
				t.Errorf("head = %d, want %d", got, before)
			}
		})
	}
}

func checkDuplicate(t *testing.T, got, original writer.Outcome) {
	t.Helper()
	if !got.Duplicate || got.First != original.First || got.Last != original.Last {
		t.Errorf("outcome %d..%d duplicate %v, want %d..%d duplicate", got.First, got.Last, got.Duplicate, original.First, original.Last)
	}
	if fmt.Sprint(got.Events) != fmt.Sprint(original.Events) {
		t.Errorf("events %v, want the original %v", got.Events, original.Events)
	}
}

func TestIdempotencyWithinOneBatch(t *testing.T) {
	tests := []struct {
		name     string
		second   writer.Request
		wantErr  error
		wantRuns int
	}{
		{"the same command twice is applied once", request("c1", allocate("10")), nil, 1},
		{"the same id for another command is refused", request("c1", allocate("20")), eventstore.ErrIdempotencyMismatch, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memory.New()
			w := open(t, store)
			seed(t, w, "100")
			before := head(t, store)

			outs, errs := w.ExecuteAll(testContext(t), []writer.Request{request("c1", allocate("10")), tt.second, request("c2", allocate("1"))})

			if errs[0] != nil || errs[2] != nil {
				t.Fatalf("errors = %v, want the first and last accepted", errs)
			}
			if tt.wantErr != nil {
				if !errors.Is(errs[1], tt.wantErr) {
					t.Errorf("second error = %v, want %v", errs[1], tt.wantErr)
				}
			} else {
				if errs[1] != nil {
					t.Fatalf("second error = %v", errs[1])
				}
				checkDuplicate(t, outs[1], outs[0])
			}
			log := readLog(t, store)
			if got := commits(log[before:])["c1"]; got != tt.wantRuns {
				t.Errorf("c1 appended %d times, want %d", got, tt.wantRuns)
			}
			if got := fundBalance(t, log); !got.Equal(yuan("111")) {
				t.Errorf("fund balance = %s, want 111", got)
			}
		})
	}
}

// Idempotency lasts across a restart of the writer and the store.
func TestIdempotencyAfterRestart(t *testing.T) {
	dir := t.TempDir()
	store := openJetStream(t, dir)
	w := open(t, store)
	seed(t, w, "100")
	first, err := w.Execute(testContext(t), request("c1", pay("P-1", "40")))
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	w.Close()
	store.Close()

	store = openJetStream(t, dir)
	w = open(t, store)
	before := head(t, store)

	again, err := w.Execute(testContext(t), request("c1", pay("P-1", "40")))
	if err != nil {
		t.Fatalf("Execute after restart: %v", err)
	}
	checkDuplicate(t, again, first)
	if _, err := w.Execute(testContext(t), request("c1", pay("P-1", "50"))); !errors.Is(err, eventstore.ErrIdempotencyMismatch) {
		t.Errorf("another fingerprint after restart: error %v, want %v", err, eventstore.ErrIdempotencyMismatch)
	}
	if applied, err := w.Applied(testContext(t), "c1"); err != nil || !applied {
		t.Errorf("Applied(c1) = %v, %v; want true", applied, err)
	}
	if got := head(t, store); got != before {
		t.Errorf("head = %d, want %d", got, before)
	}
	if got := fundBalance(t, readLog(t, store)); !got.Equal(yuan("60")) {
		t.Errorf("fund balance = %s, want 60", got)
	}
}

// Two writers on one log: each decides against its own state, the head
// fences their appends, and the loser catches up and decides again.
func TestTwoWritersAreFenced(t *testing.T) {
	tests := []struct {
		name         string
		open         func(t *testing.T) (eventstore.Store, eventstore.Store)
		perGoroutine int
	}{
		{"two writers on one memory store", func(t *testing.T) (eventstore.Store, eventstore.Store) {
			s := memory.New()
			return s, s
		}, 40},
		{"two JetStream stores on one embedded server", func(t *testing.T) (eventstore.Store, eventstore.Store) {
			a := openJetStream(t, t.TempDir(), jetstream.WithPort(-1))
			b, err := jetstream.Connect(testContext(t), a.ClientURL())
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			t.Cleanup(func() { b.Close() })
			return a, b
		}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sa, sb := tt.open(t)
			wa := open(t, sa)
			seed(t, wa, "1000")
			wb := open(t, sb)

			acks := hammer(t, []*writer.Writer{wa, wb}, 32, tt.perGoroutine)

			checkAcks(t, readLog(t, sa), yuan("1000"), acks, 2)
			for i, w := range []*writer.Writer{wa, wb} {
				n := 0
				for g, a := range acks {
					if (g/tt.perGoroutine)%2 == i && a.err == nil {
						n++
					}
				}
				if n == 0 {
					t.Errorf("writer %d acknowledged nothing", i)
				}
				// Each writer's next command is decided against the other's appends too.
				if _, err := w.Execute(testContext(t), request(fmt.Sprintf("last-%d", i), allocate("1"))); err != nil {
					t.Errorf("writer %d: %v", i, err)
				}
			}
			if got, want := head(t, sb), head(t, sa); got != want {
				t.Errorf("the stores disagree on the head: %d and %d", got, want)
			}
		})
	}
}

// A stale writer's acceptance is checked against the log: a payment the
// other writer's payment already drained is refused after catching up.
func TestStaleWriterDecidesAgain(t *testing.T) {
	store := memory.New()
	wa := open(t, store)
	seed(t, wa, "100")
	wb := open(t, store)
	if _, err := wa.Execute(testContext(t), request("a", pay("P-A", "80"))); err != nil {
		t.Fatalf("writer a: %v", err)
	}

	_, err := wb.Execute(testContext(t), request("b", pay("P-B", "80")))

	if !errors.Is(err, domain.ErrFundOverdrawn) {
		t.Fatalf("writer b: error %v, want %v after catching up", err, domain.ErrFundOverdrawn)
	}
	if got := fundBalance(t, readLog(t, store)); !got.Equal(yuan("20")) {
		t.Errorf("fund balance = %s, want 20", got)
	}
	if got := wb.Head(); got != head(t, store) {
		t.Errorf("writer b's head = %d, want %d", got, head(t, store))
	}
}

func TestDryRun(t *testing.T) {
	store := memory.New()
	w := open(t, store)
	seed(t, w, "100")
	if _, err := w.Execute(testContext(t), request("done", allocate("10"))); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	before := head(t, store)
	trial := []writer.Request{
		request("t1", pay("P-1", "60")),
		request("t2", pay("P-2", "60")), // 50 left after t1
		request("t3", allocate("20")),
		request("t4", pay("P-2", "60")), // 70 left: accepted now
		request("t5", pay("P-1", "1")),  // P-1 was paid by t1
		request("done", allocate("10")), // a duplicate counts as accepted
		request("done", allocate("11")), // another fingerprint does not
	}
	want := []error{nil, domain.ErrFundOverdrawn, nil, nil, domain.ErrDuplicateID, nil, eventstore.ErrIdempotencyMismatch}

	got, err := w.DryRun(testContext(t), trial)

	if err != nil {
		t.Fatalf("DryRun: %v", err)
	}
	for i := range want {
		if !errors.Is(got[i], want[i]) || (want[i] == nil && got[i] != nil) {
			t.Errorf("trial %s: %v, want %v", trial[i].CommandID, got[i], want[i])
		}
	}
	if h := head(t, store); h != before {
		t.Errorf("head after a dry run = %d, want %d", h, before)
	}
	// The state is as it was: 110 in the fund, P-1 unused.
	if _, err := w.Execute(testContext(t), request("real", pay("P-1", "110"))); err != nil {
		t.Errorf("a real payment after the dry run: %v", err)
	}
	if applied, err := w.Applied(testContext(t), "t1"); err != nil || applied {
		t.Errorf("Applied(t1) = %v, %v; want false", applied, err)
	}
}

func TestApplied(t *testing.T) {
	store := memory.New()
	w := open(t, store)
	seed(t, w, "100")
	if _, err := w.Execute(testContext(t), request("c1", allocate("1"))); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if _, err := w.Execute(testContext(t), request("refused", pay("P-1", "1000"))); err == nil {
		t.Fatalf("an overdraft was accepted")
	}
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"an executed command is applied", "c1", true},
		{"a setup command replayed from the log is applied", "setup-0", true},
		{"a refused command is not applied", "refused", false},
		{"an unknown command is not applied", "never", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.Applied(testContext(t), tt.id)
			if err != nil || got != tt.want {
				t.Errorf("Applied(%s) = %v, %v; want %v", tt.id, got, err, tt.want)
			}
		})
	}
}

// A command queued just before another, in the same batch, is applied by the
// time Applied answers.
func TestAppliedSeesTheCommandQueuedBefore(t *testing.T) {
	store := memory.New()
	w := open(t, store)
	seed(t, w, "100")
	for i := range 50 {
		id := fmt.Sprintf("c%d", i)
		done := make(chan error, 1)
		go func() {
			_, err := w.Execute(context.Background(), request(id, allocate("1")))
			done <- err
		}()
		// Wait until the command is queued or applied, then ask.
		for w.Head() == 0 {
			time.Sleep(time.Millisecond)
		}
		if err := <-done; err != nil {
			t.Fatalf("Execute: %v", err)
		}
		if applied, err := w.Applied(testContext(t), id); err != nil || !applied {
			t.Fatalf("Applied(%s) after its Execute returned = %v, %v", id, applied, err)
		}
	}
}

// Close answers every command queued before it, and nothing acknowledged is lost.
func TestCloseDrainsQueuedCommands(t *testing.T) {
	for round := range 20 {
		store := memory.New()
		w := open(t, store)
		seed(t, w, "0")
		const senders = 32
		acks := make([]ack, senders)
		var wg sync.WaitGroup
		for g := range senders {
			wg.Go(func() {
				acks[g].id = fmt.Sprintf("r%d-c%d", round, g)
				acks[g].out, acks[g].err = w.Execute(context.Background(), request(acks[g].id, allocate("1")))
			})
		}
		w.Close()
		waitOrFail(t, &wg, "senders still waiting after Close")

		runs := commits(readLog(t, store))
		for _, a := range acks {
			switch {
			case a.err == nil && runs[a.id] != 1:
				t.Errorf("acknowledged %s appears %d times", a.id, runs[a.id])
			case errors.Is(a.err, writer.ErrStopped) && runs[a.id] != 0:
				t.Errorf("%s refused as stopped, but appended", a.id)
			case a.err != nil && !errors.Is(a.err, writer.ErrStopped):
				t.Errorf("%s: %v", a.id, a.err)
			}
		}
		if _, err := w.Execute(testContext(t), request("late", allocate("1"))); !errors.Is(err, writer.ErrStopped) {
			t.Errorf("a command after Close: %v, want %v", err, writer.ErrStopped)
		}
	}
}

// Close while the same command is queued twice in one batch: both copies are answered.
func TestCloseAnswersRepeatedCommands(t *testing.T) {
	for range 50 {
		store := memory.New()
		w := open(t, store)
		seed(t, w, "0")
		var wg sync.WaitGroup
		var errs []error
		wg.Go(func() {
			_, errs = w.ExecuteAll(context.Background(), []writer.Request{request("c", allocate("1")), request("c", allocate("1"))})
		})
		w.Close()
		waitOrFail(t, &wg, "ExecuteAll still waiting after Close")
		applied := commits(readLog(t, store))["c"] == 1
		for i, err := range errs {
			if applied && err != nil {
				t.Errorf("copy %d: %v, though the command was applied", i, err)
			}
		}
	}
}

func waitOrFail(t *testing.T, wg *sync.WaitGroup, msg string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal(msg)
	}
}

// A batch of many large commands is split to fit the store's limits.
func TestLargeCommandsAreSplitIntoBatches(t *testing.T) {
	store := memory.New()
	w := open(t, store)
	seed(t, w, "0")
	personal := make([]byte, 8000) // the encrypted personal data, at its size limit
	var reqs []writer.Request
	for i := 1; i <= 300; i++ {
		reqs = append(reqs, request(fmt.Sprintf("reg-%d", i), register(i, personal)))
	}

	_, errs := w.ExecuteAll(testContext(t), reqs)

	for i, err := range errs {
		if err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	if got := len(commits(readLog(t, store))); got != len(reqs)+len(setup("0")) {
		t.Errorf("%d commands in the log, want %d", got, len(reqs)+len(setup("0")))
	}
}

// A command without an id is refused alone; it does not sink its batch.
func TestCommandWithoutIDIsRefusedAlone(t *testing.T) {
	store := memory.New()
	w := open(t, store)
	seed(t, w, "0")

	_, errs := w.ExecuteAll(testContext(t), []writer.Request{request("a", allocate("1")), request("", allocate("2")), request("b", allocate("3"))})

	if errs[0] != nil || errs[2] != nil {
		t.Errorf("errors = %v, want the commands with ids accepted", errs)
	}
	if !errors.Is(errs[1], eventstore.ErrInvalid) {
		t.Errorf("command without id: %v, want %v", errs[1], eventstore.ErrInvalid)
	}
}

// failOnce is the real memory store with one fault injected: while armed,
// the next AppendBatch fails as an unavailable disk would, appending nothing.
type failOnce struct {
	*memory.Store
	armed atomic.Bool
}

func (s *failOnce) AppendBatch(ctx context.Context, head eventstore.Position, commits []eventstore.Commit) ([]eventstore.Result, error) {
	if s.armed.CompareAndSwap(true, false) {
		return nil, fmt.Errorf("disk full: %w", eventstore.ErrUnavailable)
	}
	return s.Store.AppendBatch(ctx, head, commits)
}

// When the store refuses a batch, the tentative state is rolled back: the
// refused commands leave no trace in the writer, and a fresh writer over the
// same log agrees.
func TestRollbackWhenTheStoreFails(t *testing.T) {
	tests := []struct {
		name string
		// fail makes the store refuse the next batch; it returns the store
		// that works afterwards and whether the same writer can go on.
		fail    func(s *failOnce) (eventstore.Store, bool)
		wantErr error
	}{
		{"the store fails one append", func(s *failOnce) (eventstore.Store, bool) {
			s.armed.Store(true)
			return s, true
		}, eventstore.ErrUnavailable},
		{"the store is closed under the writer", func(s *failOnce) (eventstore.Store, bool) {
			s.Close()
			return &failOnce{Store: s.Reopen()}, false
		}, eventstore.ErrClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &failOnce{Store: memory.New()}
			w := open(t, store)
			seed(t, w, "100")
			before := head(t, store.Store)
			working, sameWriter := tt.fail(store)

			_, errs := w.ExecuteAll(testContext(t), []writer.Request{request("lost-1", pay("P-1", "100")), request("lost-2", allocate("5"))})

			for i, err := range errs {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("command %d: %v, want %v", i, err, tt.wantErr)
				}
			}
			if applied, err := w.Applied(testContext(t), "lost-1"); err != nil || applied {
				t.Errorf("Applied(lost-1) = %v, %v; want false", applied, err)
			}
			if got := w.Head(); got != before {
				t.Errorf("writer head = %d, want %d", got, before)
			}
			next := w
			if !sameWriter {
				w.Close()
				next = open(t, working)
			}
			// P-1 is unused and the fund holds 100, not 105: the same payment
			// goes through, and 100.01 would not.
			if _, err := next.Execute(testContext(t), request("over", pay("P-2", "100.01"))); !errors.Is(err, domain.ErrFundOverdrawn) {
				t.Errorf("a payment of 100.01: %v, want %v", err, domain.ErrFundOverdrawn)
			}
			if _, err := next.Execute(testContext(t), request("again", pay("P-1", "100"))); err != nil {
				t.Errorf("the same payment after the failure: %v", err)
			}
			log := readLog(t, working)
			if got := fundBalance(t, log); !got.IsZero() {
				t.Errorf("fund balance = %s, want 0", got)
			}
			if runs := commits(log); runs["lost-1"]+runs["lost-2"] != 0 {
				t.Errorf("refused batch in the log: %v", runs)
			}
		})
	}
}
