package api

import (
	"encoding/csv"
	"net/http"
	"strconv"

	"github.com/hrss-ledger/ledger/domain"
)

// historyHeader names the CSV columns in English and Chinese, as the finance
// officers' spreadsheets do.
var historyHeader = []string{
	"position 位置", "event_id 事件编号", "date 日期", "type 类型", "amount 金额",
	"counterparty 对方账户", "document 文号", "balance_after 余额",
}

// writeHistoryCSV answers an account's history as CSV (UTF-8 with BOM, so
// that spreadsheet programs show the Chinese headers).
func writeHistoryCSV(w http.ResponseWriter, report domain.HistoryReport) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="history.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("\ufeff"))
	out := csv.NewWriter(w)
	_ = out.Write(historyHeader)
	for _, e := range report.Entries {
		_ = out.Write([]string{strconv.FormatUint(e.Position, 10), e.EventID, e.Date, e.Type,
			e.Amount, e.Counterparty, e.Document, e.BalanceAfter})
	}
	out.Flush()
}
