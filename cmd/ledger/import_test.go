package main

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/hrss-ledger/ledger/api/vault"
	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore/jetstream"
	"github.com/hrss-ledger/ledger/eventstore/writer"
)

// importLedger opens a writer on an embedded store with a region tree, a
// fund with money, a program and one person, as the API would record them.
func importLedger(t *testing.T) (*writer.Writer, string) {
	t.Helper()
	ctx := context.Background()
	store, err := jetstream.OpenEmbedded(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	w, err := writer.Open(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	v, err := vault.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	person := v.Pseudonym("11010519491231002X")
	day := domain.MustDate("2017-01-02")
	setup := []domain.Command{
		domain.DefineRegion{Code: "610000", Name: "陕西省", Date: day},
		domain.DefineRegion{Code: "610900", Name: "安康市", ParentCode: "610000", Date: day},
		domain.OpenFund{FundID: "AK-EMP", Name: "就业补助资金", Kind: "employment_subsidy", RegionCode: "610900", Date: day},
		domain.AllocateFund{FundID: "AK-EMP", Amount: mustMoney("12000"), Date: day, Document: "安财社〔2017〕1号"},
		domain.RegisterBeneficiary{BeneficiaryID: person, Kind: "person", IDNumber: "11010519491231002X", RegionCode: "610900", Date: day,
			Categories: []domain.CategoryPeriod{{Category: "returning_migrant", From: day, To: domain.MustDate("2017-12-31")}}},
		domain.DefineProgram{ProgramID: "P-TRANSPORT", SubsidyType: "transport", Name: "交通补贴",
			AmountRule: domain.AmountRule{Max: mustMoney("500")}, ValidFrom: day, ValidTo: domain.MustDate("2017-12-31")},
	}
	for i, cmd := range setup {
		if _, err := w.Execute(ctx, writer.Request{Command: cmd, CommandID: "setup/" + itoa(i), Actor: "test"}); err != nil {
			t.Fatalf("setup %T: %v", cmd, err)
		}
	}
	return w, person
}

func itoa(i int) string { return strconv.Itoa(i) }

func mustMoney(s string) domain.Money {
	m, err := domain.ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return m
}

func TestImportSubsidies(t *testing.T) {
	ctx := context.Background()
	w, person := importLedger(t)
	good := "program_id,beneficiary_id,fund_id,amount,date,document\n" +
		"P-TRANSPORT," + person + ",AK-EMP,500,2017-03-01,安人社发〔2017〕3号\n" +
		"P-TRANSPORT," + person + ",AK-EMP,450.50,2017-04-01,安人社发〔2017〕3号\n"

	t.Run("a file with a refused row imports nothing and names row, field and reason", func(t *testing.T) {
		bad := good + "P-TRANSPORT," + person + ",AK-EMP,1.001,2017-05-01,x\n" + // malformed amount
			"P-TRANSPORT," + person + ",AK-EMP,600,2017-05-01,x\n" + // over the program's max
			"P-NOPE," + person + ",AK-EMP,100,2017-05-01,x\n" // unknown program
		head := w.Head()
		var out bytes.Buffer
		err := importFile(ctx, w, "subsidies", "officer-wang", []byte(bad), &out)
		if !errors.Is(err, errRefusedRows) {
			t.Fatalf("got %v, want errRefusedRows", err)
		}
		if w.Head() != head {
			t.Errorf("head moved from %d to %d: a refused file appended", head, w.Head())
		}
		report := out.String()
		for _, want := range []string{"row 4\tamount", "row 5\tamount", "row 6\tprogram_id"} {
			if !strings.Contains(report, want) {
				t.Errorf("report lacks %q:\n%s", want, report)
			}
		}
	})

	t.Run("a good file imports every row once, and again appends nothing", func(t *testing.T) {
		var out bytes.Buffer
		if err := importFile(ctx, w, "subsidies", "officer-wang", []byte(good), &out); err != nil {
			t.Fatalf("import: %v\n%s", err, out.String())
		}
		head := w.Head()
		if !strings.Contains(out.String(), "imported 2 rows") {
			t.Errorf("report: %s", out.String())
		}
		out.Reset()
		if err := importFile(ctx, w, "subsidies", "officer-wang", []byte(good), &out); err != nil {
			t.Fatalf("re-import: %v", err)
		}
		if w.Head() != head || !strings.Contains(out.String(), "imported 0 rows") || !strings.Contains(out.String(), "2 already imported") {
			t.Errorf("re-import: head %d (want %d), report %s", w.Head(), head, out.String())
		}
	})

	t.Run("an unknown column is refused before any row", func(t *testing.T) {
		var out bytes.Buffer
		err := importFile(ctx, w, "subsidies", "x", []byte("program_id,colour\nP,red\n"), &out)
		if !errors.Is(err, errRefusedRows) || !strings.Contains(out.String(), "colour") {
			t.Errorf("got %v, report %s", err, out.String())
		}
	})
}
