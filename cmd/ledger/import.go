package main

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hrss-ledger/ledger/api"
	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore/writer"
)

// Limits of a CSV import.
const maxImportRows = 200_000

// importColumns are the CSV columns of each kind, named as the JSON fields
// of the matching POST endpoint (API.md), with how each is typed in JSON.
var importColumns = map[string]map[string]columnType{
	"loans": {
		"loan_id": text, "borrower_id": text, "borrower_kind": text, "partners": list, "bank": text,
		"principal": text, "annual_rate": text, "term_months": integer, "issue_date": text,
		"guarantee_fund_id": text, "region_code": text, "counter_guarantee_waived": boolean,
		"jobs_created": integer, "document": text,
	},
	"subsidies": {
		"program_id": text, "beneficiary_id": text, "fund_id": text, "amount": text, "date": text, "document": text,
	},
	"placements": {
		"placement_id": text, "beneficiary_id": text, "kind": text, "region_code": text, "date": text, "employer": text,
	},
}

type columnType int

const (
	text columnType = iota
	integer
	boolean
	list // values separated by ';'
)

// errRefusedRows makes the import exit non-zero after its report.
var errRefusedRows = errors.New("rows refused: nothing was imported")

func runImport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("import")
	var sf storeFlags
	sf.register(fs)
	kind := fs.String("kind", "", "loans, subsidies or placements")
	actor := fs.String("actor", envOr("USER", "importer"), "who is recorded as the actor")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if _, ok := importColumns[*kind]; !ok || fs.NArg() != 1 {
		return fmt.Errorf("%w: ledger import --kind loans|subsidies|placements FILE.csv", errUsage)
	}
	raw, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	store, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	w, err := writer.Open(ctx, store)
	if err != nil {
		return err
	}
	defer w.Close()
	return importFile(ctx, w, *kind, *actor, raw, stdout)
}

// rowRefusal is one line of the refused-rows report.
type rowRefusal struct {
	Row    int    `json:"row"` // 1-based line number in the file (the header is row 1)
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// importFile decides every row first without appending anything; only when
// no row is refused does it apply them all, in order. Command ids derive
// from the file's content and the row, so a re-import appends nothing.
func importFile(ctx context.Context, w *writer.Writer, kind, actor string, raw []byte, stdout io.Writer) error {
	reqs, refusals := parseImport(kind, actor, raw)
	if len(reqs.requests) > 0 {
		// The rows that parsed are decided too, so that one report lists
		// every refused row, not only the first kind of fault.
		trial, err := w.DryRun(ctx, reqs.requests)
		if err != nil {
			return err
		}
		refusals = append(refusals, trialRefusals(reqs.rows, trial)...)
		slices.SortStableFunc(refusals, func(a, b rowRefusal) int { return a.Row - b.Row })
	}
	if len(refusals) > 0 {
		writeRefusals(stdout, refusals)
		return fmt.Errorf("%d %w", len(refusals), errRefusedRows)
	}
	bar := newProgressBar(int64(len(reqs.requests)), "importing")
	outcomes, errs := w.ExecuteAll(ctx, reqs.requests)
	bar.Finish()
	applied, duplicates := 0, 0
	for i, err := range errs {
		if err != nil {
			// Another command changed the state between the trial and now:
			// the rows before it stand; re-running the import applies the rest.
			return fmt.Errorf("row %d refused after the trial (%d rows applied before it; re-run the import to finish): %w",
				reqs.rows[i], applied, err)
		}
		if outcomes[i].Duplicate {
			duplicates++
		} else {
			applied++
		}
	}
	fmt.Fprintf(stdout, "imported %d rows of %s (%d already imported before), log head %d\n", applied, kind, duplicates, w.Head())
	return nil
}

type parsedImport struct {
	requests []writer.Request
	rows     []int // file row of each request
}

func parseImport(kind, actor string, raw []byte) (parsedImport, []rowRefusal) {
	var out parsedImport
	records, err := readCSV(raw)
	if err != nil {
		return out, []rowRefusal{{Row: 0, Reason: err.Error()}}
	}
	columns := importColumns[kind]
	header := records[0]
	for i, name := range header {
		if _, ok := columns[strings.TrimSpace(name)]; !ok {
			return out, []rowRefusal{{Row: 1, Field: name, Reason: fmt.Sprintf("column %d is not a column of %s", i+1, kind)}}
		}
	}
	sum := sha256.Sum256(raw)
	fileID := hex.EncodeToString(sum[:8])
	var refusals []rowRefusal
	for i, record := range records[1:] {
		row := i + 2
		req, err := rowRequest(kind, actor, fileID, row, header, record)
		if err != nil {
			p := api.ProblemOf(err)
			refusals = append(refusals, rowRefusal{Row: row, Field: p.Field, Reason: p.Detail})
			continue
		}
		out.requests = append(out.requests, req)
		out.rows = append(out.rows, row)
	}
	return out, refusals
}

func readCSV(raw []byte) ([][]string, error) {
	text := strings.TrimPrefix(string(raw), "\ufeff")
	r := csv.NewReader(strings.NewReader(text))
	r.TrimLeadingSpace = true
	records, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("malformed CSV: %w", err)
	}
	if len(records) < 2 {
		return nil, errors.New("the file needs a header row and at least one data row")
	}
	if len(records) > maxImportRows+1 {
		return nil, fmt.Errorf("the file has more than %d rows: split it", maxImportRows)
	}
	return records, nil
}

// rowRequest turns one CSV row into the command the POST endpoint would build.
func rowRequest(kind, actor, fileID string, row int, header, record []string) (writer.Request, error) {
	body := map[string]any{}
	columns := importColumns[kind]
	for i, name := range header {
		name = strings.TrimSpace(name)
		value := strings.TrimSpace(record[i])
		if value == "" {
			continue
		}
		typed, err := typedValue(columns[name], value)
		if err != nil {
			return writer.Request{}, &api.Problem{Status: 400, Title: "Bad Request", Field: name, Detail: err.Error()}
		}
		body[name] = typed
	}
	data, err := json.Marshal(body)
	if err != nil {
		return writer.Request{}, err
	}
	cmd, err := api.DecodeCommand(kind, data, domain.DateOf(time.Now()))
	if err != nil {
		return writer.Request{}, err
	}
	if pay, ok := cmd.(domain.PaySubsidy); ok {
		pay.PaymentID = "import-" + fileID + "-" + strconv.Itoa(row) // stable across re-imports
		cmd = pay
	}
	fingerprint := sha256.Sum256(data)
	return writer.Request{
		Command: cmd, CommandID: "import/" + fileID + "/" + strconv.Itoa(row),
		Fingerprint: hex.EncodeToString(fingerprint[:]), Actor: actor,
		CorrelationID: "import/" + fileID,
	}, nil
}

func typedValue(t columnType, value string) (any, error) {
	switch t {
	case integer:
		n, err := strconv.Atoi(value)
		if err != nil {
			return nil, errors.New("must be a whole number")
		}
		return n, nil
	case boolean:
		b, err := strconv.ParseBool(value)
		if err != nil {
			return nil, errors.New("must be true or false")
		}
		return b, nil
	case list:
		return strings.Split(value, ";"), nil
	}
	return value, nil
}

func trialRefusals(rows []int, trial []error) []rowRefusal {
	var out []rowRefusal
	for i, err := range trial {
		if err != nil {
			p := api.ProblemOf(err)
			out = append(out, rowRefusal{Row: rows[i], Field: p.Field, Reason: p.Detail})
		}
	}
	return out
}

func writeRefusals(w io.Writer, refusals []rowRefusal) {
	fmt.Fprintf(w, "%d rows refused; nothing was imported:\n", len(refusals))
	for _, r := range refusals {
		field := r.Field
		if field == "" {
			field = "-"
		}
		fmt.Fprintf(w, "  row %d\t%s\t%s\n", r.Row, field, r.Reason)
	}
}
