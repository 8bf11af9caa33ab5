package audit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/audit"
	"github.com/hrss-ledger/ledger/eventstore/memory"
	"github.com/hrss-ledger/ledger/projections"
)

// cityLog writes, through the domain's rules, a fund that is allocated
// money and pays subsidies to six people, and a loan issued and repaid in
// parts.
func cityLog(t *testing.T) *memory.Store {
	t.Helper()
	return cityLogOf(t, 6)
}

// cityLogOf is cityLog with subsidies paid to the given number of people,
// one payment a month from February to July in turn.
func cityLogOf(t *testing.T, people int) *memory.Store {
	t.Helper()
	store := memory.New()
	t.Cleanup(func() { store.Close() })
	ledger := domain.NewLedger()
	d := domain.MustDate("2017-01-01")
	commands := []domain.Command{
		domain.DefineRegion{Code: "610000", Name: "陕西省", Date: d},
		domain.DefineRegion{Code: "610900", Name: "安康市", ParentCode: "610000", Date: d},
		domain.DefineRegion{Code: "610902", Name: "汉滨区", ParentCode: "610900", Date: d},
		domain.OpenFund{FundID: "EMP", Name: "就业补助资金", Kind: domain.FundEmploymentSubsidy, RegionCode: "610900", Date: d},
		domain.OpenFund{FundID: "GUA", Name: "创业担保基金", Kind: domain.FundGuarantee, RegionCode: "610900", Date: d},
		domain.AllocateFund{FundID: "EMP", Amount: dec("1000000"), Date: domain.MustDate("2017-01-05"), Document: "安财社〔2017〕1号"},
		domain.AllocateFund{FundID: "GUA", Amount: dec("500000"), Date: domain.MustDate("2017-01-05"), Document: "安财社〔2017〕2号"},
		domain.DefineProgram{ProgramID: "STARTUP", SubsidyType: domain.OneTimeStartup, Name: "一次性创业补贴",
			AmountRule: domain.AmountRule{Fixed: dec("5000")}, LimitPerBeneficiary: 1, ValidFrom: d},
	}
	for i := range people {
		commands = append(commands, domain.RegisterBeneficiary{BeneficiaryID: person(i), Kind: domain.Person,
			IDNumber: idNumber(i), RegionCode: "610902", Date: d,
			Categories: []domain.CategoryPeriod{{Category: domain.PovertyLabour, From: d}}})
		commands = append(commands, domain.PaySubsidy{PaymentID: fmt.Sprintf("PAY%d", i), ProgramID: "STARTUP",
			BeneficiaryID: person(i), FundID: "EMP", Amount: dec("5000"),
			Date: domain.MustDate(fmt.Sprintf("2017-0%d-01", 2+i%6)), Document: fmt.Sprintf("安人社〔2017〕%d号", 9+i)})
	}
	commands = append(commands,
		domain.IssueLoan{LoanID: "L1", BorrowerID: person(0), BorrowerKind: domain.Individual, Bank: "ABC",
			Principal: dec("100000"), AnnualRate: dec("0.0435"), TermMonths: 36, IssueDate: domain.MustDate("2017-02-01"),
			GuaranteeFundID: "GUA", RegionCode: "610902", JobsCreated: 3},
		domain.RepayLoan{LoanID: "L1", Principal: dec("40000"), Interest: dec("1200.50"), Date: domain.MustDate("2017-08-01")},
		domain.RepayLoan{LoanID: "L1", Principal: dec("10000"), Interest: dec("300"), Date: domain.MustDate("2017-09-01")},
	)
	for i, cmd := range commands {
		events, err := ledger.Decide(cmd)
		if err != nil {
			t.Fatalf("decide %T: %v", cmd, err)
		}
		c := eventstore.Commit{CommandID: "cmd-" + strconv.Itoa(i), Fingerprint: "fp"}
		for _, e := range events {
			ledger.Evolve(e)
			typ, data, err := domain.Encode(e)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			c.Events = append(c.Events, eventstore.Event{ID: uuid.Must(uuid.NewV7()), Stream: e.StreamID(), Type: typ, Data: data,
				Meta: eventstore.Meta{BusinessDate: e.BusinessDate().String(), Actor: "科员甲"}})
		}
		if _, err := store.Append(testContext(t), c); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	return store
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func person(i int) string { return domain.Pseudonym([]byte("test key"), idNumber(i)) }

// idNumber returns a valid resident ID number (GB 11643 checksum) for n.
func idNumber(n int) string {
	body := fmt.Sprintf("61090219600101%03d", n%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

// history asks the projections for an account's history, as the server does.
func history(t *testing.T, store *memory.Store, account, from, to string) []domain.HistoryEntry {
	t.Helper()
	p, err := projections.New(projections.Config{})
	if err != nil {
		t.Fatalf("projections: %v", err)
	}
	if err := p.CatchUp(testContext(t), store); err != nil {
		t.Fatalf("catch up: %v", err)
	}
	rep, err := p.History(account, from, to)
	if err != nil {
		t.Fatalf("History(%s): %v", account, err)
	}
	return rep.Entries
}

// exportEvidence writes an account's evidence package against a fresh
// checkpoint of the whole log and returns its directory.
func exportEvidence(t *testing.T, store *memory.Store, signer *audit.Signer, account, from, to string) string {
	t.Helper()
	tree := buildTree(t, store)
	cp := signer.Checkpoint(tree, closeOfDay)
	dir := filepath.Join(t.TempDir(), "evidence")
	ev := audit.Evidence{Account: account, From: from, To: to, Entries: history(t, store, account, from, to)}
	if len(ev.Entries) == 0 {
		t.Fatalf("account %s has no history", account)
	}
	if _, err := audit.WriteEvidence(testContext(t), dir, ev, store, tree, cp, signer.PublicKey()); err != nil {
		t.Fatalf("WriteEvidence: %v", err)
	}
	return dir
}

func TestEvidenceOfAnAccountVerifiesOffline(t *testing.T) {
	store := cityLog(t)
	signer := newSigner(t)
	tests := []struct {
		name, account, from, to string
		wantEntries             int
	}{
		{"a fund's whole history", "fund:EMP", "", "", 7},
		{"a fund's history from a date", "fund:EMP", "2017-04-01", "", 4},
		{"a fund's history within dates", "fund:EMP", "2017-03-01", "2017-05-31", 3},
		{"a loan's history", "loan:L1", "", "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := exportEvidence(t, store, signer, tt.account, tt.from, tt.to)
			report, err := audit.VerifyEvidence(dir, signer.PublicKey())
			if err != nil {
				t.Fatalf("VerifyEvidence: %v", err)
			}
			if report.Account != tt.account || report.Entries != tt.wantEntries {
				t.Errorf("report = %+v, want %s with %d entries", report, tt.account, tt.wantEntries)
			}
		})
	}
}

// TestEvidenceOfAHistoryOverManyBlocksVerifiesOffline exports a history
// whose events lie in several blocks of the tree, against a checkpoint of
// the whole log and one of a size inside its last block.
func TestEvidenceOfAHistoryOverManyBlocksVerifiesOffline(t *testing.T) {
	store := cityLogOf(t, 150) // about 310 events: five blocks
	signer := newSigner(t)
	tree := buildTree(t, store)
	entries := history(t, store, "fund:EMP", "", "")
	head := tree.Size()
	older, err := tree.Root(head - 1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cp   audit.Checkpoint
	}{
		{"against a checkpoint of the whole log", signer.Checkpoint(tree, closeOfDay)},
		{"against a checkpoint of all but the last event", signer.Sign(head-1, older, closeOfDay)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "evidence")
			ev := audit.Evidence{Account: "fund:EMP", Entries: entries}
			if _, err := audit.WriteEvidence(testContext(t), dir, ev, store, tree, tt.cp, signer.PublicKey()); err != nil {
				t.Fatalf("WriteEvidence: %v", err)
			}
			report, err := audit.VerifyEvidence(dir, signer.PublicKey())
			if err != nil {
				t.Fatalf("VerifyEvidence: %v", err)
			}
			if report.Entries != 151 || report.Events != 151 {
				t.Errorf("report = %+v, want 151 entries and events", report)
			}
		})
	}
}

func TestEvidenceHistoryFilesReadInChineseAndEnglish(t *testing.T) {
	dir := exportEvidence(t, cityLog(t), newSigner(t), "fund:EMP", "", "")
	csv, err := os.ReadFile(filepath.Join(dir, audit.HistoryCSVFile))
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := bytes.Cut(csv, []byte("\n"))
	const want = "\uFEFF日志位置 position,事件编号 event_id,业务日期 date,事件类型 type,金额 amount,对方账户 counterparty,凭证号 document,变动后余额 balance_after,事件哈希 event_hash"
	if got := string(bytes.TrimSpace(header)); got != want {
		t.Errorf("csv header = %q, want %q", got, want)
	}
	if !bytes.Contains(csv, []byte("安人社〔2017〕9号")) || !bytes.Contains(csv, []byte("-5000.00")) {
		t.Errorf("csv lacks the first subsidy's document or amount:\n%s", csv)
	}
}

// rewrite changes a file of a package and, so that only the deeper checks
// can catch it, records its new digest in the manifest.
func rewrite(t *testing.T, dir, name string, change func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	data = change(data)
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	var m audit.Manifest
	raw, err := os.ReadFile(filepath.Join(dir, audit.ManifestFile))
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Files {
		if m.Files[i].Name == name {
			m.Files[i].SHA256 = sha256.Sum256(data)
		}
	}
	if raw, err = json.Marshal(m); err == nil {
		err = os.WriteFile(filepath.Join(dir, audit.ManifestFile), raw, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// setLastCSVRow changes columns of the last row of a CSV file.
func setLastCSVRow(t *testing.T, data []byte, values map[int]string) []byte {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for col, v := range values {
		records[len(records)-1][col] = v
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(records); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// setCells changes cells of the history sheet of an XLSX file.
func setCells(t *testing.T, data []byte, values map[string]string) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet := f.GetSheetName(0)
	for cell, v := range values {
		if err := f.SetCellValue(sheet, cell, v); err != nil {
			t.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func replace(old, new string) func([]byte) []byte {
	return func(b []byte) []byte { return bytes.Replace(b, []byte(old), []byte(new), 1) }
}

func TestTamperedEvidenceDoesNotVerify(t *testing.T) {
	store := cityLog(t)
	signer := newSigner(t)
	other := newSigner(t)
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		key    *audit.Signer
		want   error
	}{
		{"a byte of the csv changed without updating the manifest", func(t *testing.T, dir string) {
			data, _ := os.ReadFile(filepath.Join(dir, audit.HistoryCSVFile))
			os.WriteFile(filepath.Join(dir, audit.HistoryCSVFile), bytes.Replace(data, []byte("-5000.00"), []byte("-5000.01"), 1), 0o644)
		}, signer, audit.ErrEvidence},
		{"an amount changed in the csv alone", func(t *testing.T, dir string) {
			rewrite(t, dir, audit.HistoryCSVFile, replace("-5000.00,", "-500.00,"))
		}, signer, audit.ErrEvidence},
		{"the last amount and balance changed in both history files, balances adding up", func(t *testing.T, dir string) {
			rewrite(t, dir, audit.HistoryCSVFile, func(b []byte) []byte {
				return setLastCSVRow(t, b, map[int]string{4: "-4000.00", 7: "971000.00"})
			})
			rewrite(t, dir, audit.HistoryXLSXFile, func(b []byte) []byte {
				return setCells(t, b, map[string]string{"E9": "-4000.00", "H9": "971000.00"})
			})
		}, signer, audit.ErrEvidence},
		{"an event's data changed", func(t *testing.T, dir string) {
			rewrite(t, dir, audit.EventsFile, replace(`\"amount\":\"5000\"`, `\"amount\":\"500\"`))
		}, signer, audit.ErrEvidence},
		{"an event's data changed with its chain hash recomputed", func(t *testing.T, dir string) {
			rewrite(t, dir, audit.EventsFile, func(b []byte) []byte {
				var events []audit.EvidenceEvent
				if err := json.Unmarshal(b, &events); err != nil {
					t.Fatal(err)
				}
				events[1].Event.Data = strings.Replace(events[1].Event.Data, `"amount":"5000"`, `"amount":"500"`, 1)
				events[1].Event.Hash = eventstore.ChainHash(events[1].PrevHash, events[1].Event.Event())
				out, _ := json.Marshal(events)
				return out
			})
		}, signer, audit.ErrEvidence},
		{"the package checked with another deployment's key", func(*testing.T, string) {}, other, audit.ErrBadSignature},
		{"the checkpoint replaced by one of a different log", func(t *testing.T, dir string) {
			cp := signer.Checkpoint(buildTree(t, memoryLog(t, 40)), closeOfDay)
			rewrite(t, dir, audit.CheckpointFile, func([]byte) []byte { data, _ := json.Marshal(cp); return data })
		}, signer, audit.ErrEvidence},
		{"a file missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, audit.HistoryXLSXFile))
		}, signer, audit.ErrEvidence},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := exportEvidence(t, store, signer, "fund:EMP", "", "")
			tt.tamper(t, dir)
			if _, err := audit.VerifyEvidence(dir, tt.key.PublicKey()); !errors.Is(err, tt.want) {
				t.Errorf("VerifyEvidence = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEvidenceNeedsACheckpointCoveringTheHistory(t *testing.T) {
	store := cityLog(t)
	signer := newSigner(t)
	entries := history(t, store, "loan:L1", "", "")
	tree := buildTree(t, store)
	old, err := tree.Root(entries[len(entries)-1].Position - 1)
	if err != nil {
		t.Fatal(err)
	}
	cp := signer.Sign(entries[len(entries)-1].Position-1, old, time.Now())
	_, err = audit.WriteEvidence(testContext(t), t.TempDir(), audit.Evidence{Account: "loan:L1", Entries: entries}, store, tree, cp, signer.PublicKey())
	if !errors.Is(err, audit.ErrNotCheckpointed) {
		t.Errorf("WriteEvidence with an older checkpoint: %v, want ErrNotCheckpointed", err)
	}
}
