package main

import (
	"context"
	"io"
	"testing"

	"github.com/hrss-ledger/ledger/eventstore/memory"
	"github.com/hrss-ledger/ledger/eventstore/writer"
)

// importKinds are the kinds a CSV import takes.
var importKinds = []string{"loans", "subsidies", "placements"}

// FuzzImportCSV imports arbitrary CSV files of each kind through the real
// import path into a real sequencer: no panic, every refused row named,
// and a file with any refused row appends nothing.
func FuzzImportCSV(f *testing.F) {
	f.Add(uint8(1), []byte("program_id,beneficiary_id,fund_id,amount,date,document\nP,b,F,5000,2017-03-01,d\n"))
	f.Add(uint8(0), []byte("\ufeffloan_id,borrower_id,borrower_kind,partners,bank,principal,annual_rate,term_months,issue_date,guarantee_fund_id,region_code,counter_guarantee_waived,jobs_created\nL1,b,partnership,a;b,BANK,100000,0.0435,24,2017-03-01,G,610900,maybe,x\n"))
	f.Add(uint8(2), []byte("placement_id,beneficiary_id,kind,region_code,date\n\"J1,b,urban_job,610900,2017-03-01\n"))
	f.Add(uint8(2), []byte("kind\n"))
	f.Add(uint8(1), []byte("amount,amount\n1,2\n"))
	f.Fuzz(func(t *testing.T, kind uint8, raw []byte) {
		log := memory.New()
		defer log.Close()
		w, err := writer.Open(context.Background(), log)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		k := importKinds[int(kind)%len(importKinds)]
		parsed, refusals := parseImport(k, "fuzzer", raw)
		for _, r := range refusals {
			if r.Reason == "" {
				t.Fatalf("a refusal without a reason: %+v", r)
			}
		}
		if len(parsed.requests) != len(parsed.rows) {
			t.Fatalf("%d requests for %d rows", len(parsed.requests), len(parsed.rows))
		}
		err = importFile(context.Background(), w, k, "fuzzer", raw, io.Discard)
		head, herr := log.Head(context.Background())
		if herr != nil {
			t.Fatal(herr)
		}
		if err != nil && head != 0 {
			t.Fatalf("import of %q failed (%v) but appended %d events", raw, err, head)
		}
	})
}
