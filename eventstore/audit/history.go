package audit

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"

	"github.com/xuri/excelize/v2"

	"github.com/hrss-ledger/ledger/domain"
)

// historyColumns are the columns of history.csv and history.xlsx, Chinese
// first for the bureau's staff, English for tools and foreign auditors.
var historyColumns = []struct{ zh, en string }{
	{"日志位置", "position"},
	{"事件编号", "event_id"},
	{"业务日期", "date"},
	{"事件类型", "type"},
	{"金额", "amount"},
	{"对方账户", "counterparty"},
	{"凭证号", "document"},
	{"变动后余额", "balance_after"},
	{"事件哈希", "event_hash"},
}

// historySheet names the XLSX sheet.
const historySheet = "账户明细 history"

// utf8BOM opens history.csv so that Excel and WPS read the Chinese header as
// UTF-8 rather than the system code page.
const utf8BOM = "\uFEFF"

// historyRow is one line of the history files: a HistoryEntry plus the
// chain hash of its event. All fields are text, as the API gives them, so
// money stays exact in every file.
type historyRow [9]string

func historyRows(entries []domain.HistoryEntry, events []EvidenceEvent) []historyRow {
	hashes := make(map[uint64]Hash, len(events))
	for _, e := range events {
		hashes[e.Event.Position] = e.Event.Hash
	}
	rows := make([]historyRow, len(entries))
	for i, e := range entries {
		rows[i] = historyRow{strconv.FormatUint(e.Position, 10), e.EventID, e.Date, e.Type, e.Amount,
			e.Counterparty, e.Document, e.BalanceAfter, hashes[e.Position].String()}
	}
	return rows
}

// csvHeader returns the one-row bilingual header of the CSV: "日志位置 position".
func csvHeader() []string {
	h := make([]string, len(historyColumns))
	for i, c := range historyColumns {
		h[i] = c.zh + " " + c.en
	}
	return h
}

func encodeCSV(rows []historyRow) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(utf8BOM)
	w := csv.NewWriter(&buf)
	if err := w.Write(csvHeader()); err != nil {
		return nil, err
	}
	for _, r := range rows {
		if err := w.Write(r[:]); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func decodeCSV(data []byte) ([]historyRow, error) {
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	records, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	if len(records) == 0 || !slices.Equal(records[0], csvHeader()) {
		return nil, fmt.Errorf("csv header is not %v", csvHeader())
	}
	return toRows(records[1:])
}

// encodeXLSX writes the rows under two header rows, Chinese then English.
// Amounts stay text: a float cell would round money.
func encodeXLSX(account string, rows []historyRow) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", historySheet); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(historySheet)
	if err != nil {
		return nil, err
	}
	zh, en := make([]any, len(historyColumns)), make([]any, len(historyColumns))
	for i, c := range historyColumns {
		zh[i], en[i] = c.zh, c.en
	}
	for i, row := range append([][]any{zh, en}, cells(rows)...) {
		if err := sw.SetRow(fmt.Sprintf("A%d", i+1), row); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	f.SetDocProps(&excelize.DocProperties{Title: "账户明细 " + account, Subject: account})
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func cells(rows []historyRow) [][]any {
	out := make([][]any, len(rows))
	for i, r := range rows {
		out[i] = make([]any, len(r))
		for j, v := range r {
			out[i][j] = v
		}
	}
	return out
}

func decodeXLSX(data []byte) ([]historyRow, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read xlsx: %w", err)
	}
	defer f.Close()
	records, err := f.GetRows(historySheet)
	if err != nil {
		return nil, fmt.Errorf("read xlsx: %w", err)
	}
	if len(records) < 2 {
		return nil, fmt.Errorf("xlsx has no header rows")
	}
	return toRows(records[2:])
}

func toRows(records [][]string) ([]historyRow, error) {
	rows := make([]historyRow, len(records))
	for i, rec := range records {
		// Spreadsheets drop trailing empty cells; only more cells are wrong.
		if len(rec) > len(historyRow{}) {
			return nil, fmt.Errorf("row %d has %d columns, want %d", i+1, len(rec), len(historyRow{}))
		}
		copy(rows[i][:], rec)
	}
	return rows, nil
}
