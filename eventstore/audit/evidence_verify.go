package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/shopspring/decimal"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
)

// EvidenceReport says what a verified evidence package proves.
type EvidenceReport struct {
	Account    string     `json:"account"`
	From       string     `json:"from,omitempty"`
	To         string     `json:"to,omitempty"`
	Entries    int        `json:"entries"`
	Events     int        `json:"events"`
	Checkpoint Checkpoint `json:"checkpoint"`
}

// VerifyEvidence checks an evidence package offline with the deployment's
// public key (obtained separately, not the copy in the package): every file
// is the one the manifest lists; the checkpoint is signed by the key; every
// event is in the checkpointed log at its position (inclusion proof) and
// carries its chain hash; and every history row, in CSV and XLSX alike,
// follows from its event: same id, date and hash, an amount equal to the
// event's postings on the account, and balances that add up.
func VerifyEvidence(dir string, pub ed25519.PublicKey) (EvidenceReport, error) {
	m, err := readManifest(dir)
	if err != nil {
		return EvidenceReport{}, err
	}
	files, err := readListed(dir, m)
	if err != nil {
		return EvidenceReport{}, err
	}
	cp, err := checkedCheckpoint(files[CheckpointFile], m, pub)
	if err != nil {
		return EvidenceReport{}, err
	}
	events, err := checkedEvents(files[EventsFile], cp)
	if err != nil {
		return EvidenceReport{}, err
	}
	rows, err := checkedRows(files[HistoryCSVFile], files[HistoryXLSXFile])
	if err != nil {
		return EvidenceReport{}, err
	}
	if err := checkHistory(m, rows, events); err != nil {
		return EvidenceReport{}, err
	}
	return EvidenceReport{Account: m.Account, From: m.From, To: m.To, Entries: len(rows), Events: len(events), Checkpoint: cp}, nil
}

func evidenceError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrEvidence, fmt.Sprintf(format, args...))
}

func readManifest(dir string) (Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Manifest{}, fmt.Errorf("audit: evidence: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return Manifest{}, evidenceError("%s: %v", ManifestFile, err)
	}
	if m.Format != EvidenceFormat {
		return Manifest{}, evidenceError("%s: format %q, want %q", ManifestFile, m.Format, EvidenceFormat)
	}
	return m, nil
}

// readListed reads the files the manifest lists, checking their digests,
// and insists on the ones verification needs.
func readListed(dir string, m Manifest) (map[string][]byte, error) {
	files := make(map[string][]byte, len(m.Files))
	for _, f := range m.Files {
		if f.Name != filepath.Base(f.Name) {
			return nil, evidenceError("manifest lists %q outside the package", f.Name)
		}
		data, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			return nil, evidenceError("%v", err)
		}
		if sha256.Sum256(data) != f.SHA256 {
			return nil, evidenceError("%s was changed after the package was written", f.Name)
		}
		files[f.Name] = data
	}
	for _, name := range []string{CheckpointFile, EventsFile, HistoryCSVFile, HistoryXLSXFile} {
		if _, ok := files[name]; !ok {
			return nil, evidenceError("the manifest does not list %s", name)
		}
	}
	return files, nil
}

func checkedCheckpoint(data []byte, m Manifest, pub ed25519.PublicKey) (Checkpoint, error) {
	var cp Checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return Checkpoint{}, evidenceError("%s: %v", CheckpointFile, err)
	}
	if err := VerifyCheckpoint(cp, pub); err != nil {
		return Checkpoint{}, err
	}
	if !bytes.Equal(cp.SignedText(), m.Checkpoint.SignedText()) {
		return Checkpoint{}, evidenceError("%s is not the checkpoint the manifest names", CheckpointFile)
	}
	return cp, nil
}

// checkedEvents proves each event in the checkpointed tree. The checkpoint's
// signature was checked once; each proof only needs its root.
func checkedEvents(data []byte, cp Checkpoint) ([]EvidenceEvent, error) {
	var events []EvidenceEvent
	if err := json.Unmarshal(data, &events); err != nil {
		return nil, evidenceError("%s: %v", EventsFile, err)
	}
	var last uint64
	for _, ev := range events {
		e := ev.Event.Event()
		if e.Position <= last {
			return nil, evidenceError("event at position %d after position %d", e.Position, last)
		}
		last = e.Position
		canonical := eventstore.Canonical(e)
		if chainHash(ev.PrevHash, canonical) != e.Hash {
			return nil, evidenceError("event at position %d does not match its chain hash", e.Position)
		}
		if ev.Proof.Position != e.Position || ev.Proof.TreeSize != cp.LogSize {
			return nil, evidenceError("event at position %d carries a proof for position %d in size %d",
				e.Position, ev.Proof.Position, ev.Proof.TreeSize)
		}
		leaf := leafHashOf(canonical)
		err := proof.VerifyInclusion(rfc6962.DefaultHasher, e.Position-1, cp.LogSize, leaf[:], rawHashes(ev.Proof.Hashes), cp.RootHash[:])
		if err != nil {
			return nil, evidenceError("event at position %d is not in the checkpointed log: %v", e.Position, err)
		}
	}
	return events, nil
}

func checkedRows(csvData, xlsxData []byte) ([]historyRow, error) {
	rows, err := decodeCSV(csvData)
	if err != nil {
		return nil, evidenceError("%s: %v", HistoryCSVFile, err)
	}
	sheet, err := decodeXLSX(xlsxData)
	if err != nil {
		return nil, evidenceError("%s: %v", HistoryXLSXFile, err)
	}
	if !slices.Equal(rows, sheet) {
		return nil, evidenceError("%s and %s differ", HistoryCSVFile, HistoryXLSXFile)
	}
	return rows, nil
}

// checkHistory ties each row to its event and the rows to one another.
func checkHistory(m Manifest, rows []historyRow, events []EvidenceEvent) error {
	records := make(map[uint64]EventRecord, len(events))
	for _, ev := range events {
		records[ev.Event.Position] = ev.Event
	}
	moved := make(map[uint64]decimal.Decimal, len(events))
	var balance decimal.Decimal
	for i, row := range rows {
		r, err := parseRow(row)
		if err != nil {
			return evidenceError("history row %d: %v", i+1, err)
		}
		rec, ok := records[r.position]
		switch {
		case !ok:
			return evidenceError("history row %d: no event at position %d in the package", i+1, r.position)
		case row[1] != rec.ID.String() || row[2] != rec.BusinessDate || row[8] != rec.Hash.String():
			return evidenceError("history row %d: id, date or hash differ from the event at position %d", i+1, r.position)
		}
		// Without --from the history starts at the account's opening, at zero.
		if (i > 0 || m.From == "") && !balance.Add(r.amount).Equal(r.balanceAfter) {
			return evidenceError("history row %d: balance %s does not follow from %s%+s", i+1, r.balanceAfter, balance, r.amount)
		}
		balance = r.balanceAfter
		moved[r.position] = moved[r.position].Add(r.amount)
	}
	for position, amount := range moved {
		want, err := netPosting(records[position], m.Account)
		if err != nil {
			return evidenceError("event at position %d: %v", position, err)
		}
		if !amount.Equal(want) {
			return evidenceError("history at position %d moves %s, the event moves %s on %s", position, amount, want, m.Account)
		}
	}
	return nil
}

type parsedRow struct {
	position             uint64
	amount, balanceAfter decimal.Decimal
}

func parseRow(row historyRow) (parsedRow, error) {
	position, err := strconv.ParseUint(row[0], 10, 64)
	if err != nil {
		return parsedRow{}, fmt.Errorf("position: %w", err)
	}
	amount, err := decimal.NewFromString(row[4])
	if err != nil {
		return parsedRow{}, fmt.Errorf("amount: %w", err)
	}
	balance, err := decimal.NewFromString(row[7])
	if err != nil {
		return parsedRow{}, fmt.Errorf("balance: %w", err)
	}
	return parsedRow{position: position, amount: amount, balanceAfter: balance}, nil
}

// netPosting is what an event moves into an account (negative: out of it),
// by the domain's own double-entry rules.
func netPosting(rec EventRecord, account string) (decimal.Decimal, error) {
	e := rec.Event()
	event, err := domain.Decode(e.Type, e.Data)
	if err != nil {
		return decimal.Decimal{}, err
	}
	var net decimal.Decimal
	for _, p := range domain.Postings(event) {
		if p.To == account {
			net = net.Add(p.Amount)
		}
		if p.From == account {
			net = net.Sub(p.Amount)
		}
	}
	return net, nil
}
