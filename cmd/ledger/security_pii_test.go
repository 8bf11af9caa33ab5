package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hrss-ledger/ledger/api/vault"
)

// Known people of the privacy tests: their names and ID numbers must never
// be found in plain text anywhere the server writes.
var knownPeople = []struct{ name, idNumber string }{
	{"张三", "11010519491231002X"},
	{"欧阳秀英", "610902199003071231"},
	{"买买提·艾力", "610924198506124562"},
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// captureLogs sends every log record, debug included, to a buffer until
// the test ends.
func captureLogs(t *testing.T) *syncBuffer {
	t.Helper()
	buf := &syncBuffer{}
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(previous) })
	return buf
}

// plainForms are the ways a text could sit in a file in plain text: its
// UTF-8 bytes and its JSON \u escapes.
func plainForms(s string) [][]byte {
	quoted, _ := json.Marshal(s)
	var escaped strings.Builder
	for _, r := range s {
		if r < 0x80 {
			escaped.WriteRune(r)
		} else {
			escaped.WriteString(strings.ToLower(strings.Trim(strings.ReplaceAll(string(mustQuoteASCII(r)), `"`, ""), " ")))
		}
	}
	return [][]byte{[]byte(s), quoted[1 : len(quoted)-1], []byte(escaped.String()), []byte(strings.ToLower(s))}
}

func mustQuoteASCII(r rune) []byte {
	if r > 0xffff {
		return []byte(string(r))
	}
	const hex = "0123456789abcdef"
	return []byte{'\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf]}
}

// findPlain reports every needle found in haystack, naming where.
func findPlain(t *testing.T, where string, haystack []byte) {
	t.Helper()
	for _, p := range knownPeople {
		for _, needle := range [][]byte{[]byte(p.idNumber), []byte(strings.ToLower(p.idNumber))} {
			if bytes.Contains(haystack, needle) {
				t.Errorf("%s holds the ID number %s in plain text", where, p.idNumber)
			}
		}
		for _, needle := range plainForms(p.name) {
			if bytes.Contains(haystack, needle) {
				t.Errorf("%s holds the name %s in plain text (as %q)", where, p.name, needle)
			}
		}
	}
}

// registerKnownPeople registers the known people and pays each a subsidy.
func registerKnownPeople(s *testServer) []string {
	seedCity(s)
	var ids []string
	for _, p := range knownPeople {
		a := s.do("POST", "/v1/beneficiaries", officer, map[string]any{"kind": "person", "id_number": p.idNumber, "name": p.name,
			"region_code": "610902", "categories": []map[string]any{{"category": "returning_migrant", "from": "2017-01-01", "to": "2017-12-31"}}})
		if a.status != 200 && a.status != 201 {
			s.t.Fatalf("register %s: %d %s", p.name, a.status, a.raw)
		}
		id := a.body["beneficiary_id"].(string)
		ids = append(ids, id)
		s.must(201, "POST", "/v1/subsidies", officer, map[string]any{"program_id": "P-STARTUP", "beneficiary_id": id,
			"fund_id": "AK-EMP", "amount": "5000", "date": "2017-03-01", "document": "安人社发〔2017〕8号"})
	}
	return ids
}

func TestNoPersonalDataInPlainText(t *testing.T) {
	logs := captureLogs(t)
	data := t.TempDir()
	s := startServer(t, data)
	ids := registerKnownPeople(s)
	// Refusals and reads that carry the personal data in the request.
	s.do("POST", "/v1/beneficiaries", officer, map[string]any{"kind": "person", "id_number": "110105194912310021", "name": "张三", "region_code": "610902"})
	s.do("POST", "/v1/beneficiaries", officer, map[string]any{"kind": "person", "id_number": knownPeople[1].idNumber, "name": knownPeople[1].name, "region_code": "999999"})
	s.do("GET", "/v1/history?account=beneficiary:"+knownPeople[0].idNumber, auditor, nil)
	for _, id := range ids {
		s.must(200, "GET", "/v1/history?account=beneficiary:"+id, auditor, nil)
	}
	events := s.must(200, "GET", "/v1/events?after=0&limit=1000", auditor, nil)
	metrics := s.must(200, "GET", "/metrics", "", nil)
	s.stop()

	t.Run("the raw log as auditors read it holds no name or ID number", func(t *testing.T) {
		findPlain(t, "GET /v1/events", events.raw)
	})
	t.Run("the metrics hold no name or ID number", func(t *testing.T) {
		findPlain(t, "GET /metrics", metrics.raw)
	})
	t.Run("the logs hold no name or ID number", func(t *testing.T) {
		if len(logs.Bytes()) == 0 {
			t.Fatal("nothing was logged: the capture does not work")
		}
		findPlain(t, "the logs", logs.Bytes())
	})
	t.Run("no file of the data directory holds a name or ID number", func(t *testing.T) {
		files := 0
		err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			findPlain(t, path, raw)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if files < 5 {
			t.Errorf("only %d files under the data directory: the walk missed the store", files)
		}
	})
	t.Run("the sealed data is there and opens with the person's key", func(t *testing.T) {
		v, err := vault.Open(filepath.Join(data, "keys"))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := v.Open(ids[0], registeredPersonal(t, events.raw, ids[0]))
		if err != nil || !strings.Contains(string(plain), knownPeople[0].name) {
			t.Errorf("vault.Open = %q, %v; want the person's name", plain, err)
		}
	})
}

// registeredPersonal finds the sealed personal data of a beneficiary in a
// page of /v1/events.
func registeredPersonal(t *testing.T, page []byte, beneficiaryID string) []byte {
	t.Helper()
	var body struct {
		Events []struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		} `json:"events"`
	}
	if err := json.Unmarshal(page, &body); err != nil {
		t.Fatal(err)
	}
	for _, e := range body.Events {
		var reg struct {
			BeneficiaryID string `json:"beneficiary_id"`
			Personal      string `json:"personal"`
		}
		if e.Type == "beneficiary.registered.v1" && json.Unmarshal(e.Data, &reg) == nil && reg.BeneficiaryID == beneficiaryID {
			sealed, err := base64.StdEncoding.DecodeString(reg.Personal)
			if err != nil {
				t.Fatal(err)
			}
			return sealed
		}
	}
	t.Fatalf("no registration of %s in the log", beneficiaryID)
	return nil
}

func TestForgetShredsIdentityAndKeepsAmounts(t *testing.T) {
	data := t.TempDir()
	s := startServer(t, data)
	ids := registerKnownPeople(s)
	forgotten := ids[0]
	account := "/v1/history?account=beneficiary:" + forgotten
	historyBefore := s.must(200, "GET", account, auditor, nil)
	fundBefore := s.must(200, "GET", "/v1/funds/AK-EMP", viewer, nil)
	sealed := registeredPersonal(t, s.must(200, "GET", "/v1/events?after=0&limit=1000", auditor, nil).raw, forgotten)
	s.stop()
	keyFile := filepath.Join(data, "keys", "persons", forgotten+".key")
	key, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"forget", "--data", data, "--beneficiary", forgotten}, &out, &errOut); code != 0 {
		t.Fatalf("ledger forget: exit %d: %s", code, errOut.String())
	}

	t.Run("the sealed identity no longer opens", func(t *testing.T) {
		v, err := vault.Open(filepath.Join(data, "keys"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Open(forgotten, sealed); !errors.Is(err, vault.ErrForgotten) {
			t.Errorf("vault.Open after forget = %v, want ErrForgotten", err)
		}
	})
	t.Run("the key is in no file of the data directory", func(t *testing.T) {
		err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(raw, key) {
				t.Errorf("%s holds the destroyed key", path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the other people are still readable", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(data, "keys", "persons", ids[1]+".key")); err != nil {
			t.Errorf("key of %s: %v", ids[1], err)
		}
	})

	restarted := startServer(t, data)
	t.Run("the person's payment history is unchanged", func(t *testing.T) {
		after := restarted.must(200, "GET", account, auditor, nil)
		if got, want := entriesOf(t, after.raw), entriesOf(t, historyBefore.raw); got != want {
			t.Errorf("history after forget\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("the fund's balance is unchanged", func(t *testing.T) {
		after := restarted.must(200, "GET", "/v1/funds/AK-EMP", viewer, nil)
		if after.body["balance"] != fundBefore.body["balance"] || after.body["paid_out"] != fundBefore.body["paid_out"] {
			t.Errorf("fund after forget %s, before %s", after.raw, fundBefore.raw)
		}
	})
	t.Run("the forgotten person cannot be registered again", func(t *testing.T) {
		a := restarted.do("POST", "/v1/beneficiaries", officer, map[string]any{"kind": "person",
			"id_number": knownPeople[0].idNumber, "name": knownPeople[0].name, "region_code": "610902"})
		if a.status != 409 || a.body["field"] != "id_number" {
			t.Errorf("re-registration: got %d %s, want 409 naming id_number", a.status, a.raw)
		}
	})
	restarted.stop()
	t.Run("the log still verifies", func(t *testing.T) {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), []string{"verify", "--data", data}, &out, &errOut); code != 0 {
			t.Errorf("ledger verify: exit %d: %s %s", code, out.String(), errOut.String())
		}
	})
}

// withoutPosition is a view's answer without the log position it reflects.
func viewSansPosition(t *testing.T, a answer) string {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(a.raw, &body); err != nil {
		t.Fatal(err)
	}
	delete(body, "position")
	out, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// entriesOf is the entries of a history answer, as canonical JSON.
func entriesOf(t *testing.T, raw []byte) string {
	t.Helper()
	var body struct {
		Entries json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	return string(body.Entries)
}

func TestReadsOfPaymentHistoryAreAudited(t *testing.T) {
	s := startServer(t, t.TempDir())
	ids := registerKnownPeople(s)
	fundBefore := s.must(200, "GET", "/v1/funds/AK-EMP", viewer, nil)
	portfolioBefore := s.must(200, "GET", "/v1/portfolio?region=610900", viewer, nil)
	s.must(200, "GET", "/v1/history?account=beneficiary:"+ids[1], auditor, nil)
	s.must(200, "GET", "/v1/history?account=beneficiary:"+ids[2]+"&from=2017-01-01&to=2017-12-31", officer, nil, "Accept", "text/csv")
	page := s.must(200, "GET", "/v1/events?after=0&limit=1000", auditor, nil)
	var body struct {
		Events []struct {
			Type     string          `json:"type"`
			Stream   string          `json:"stream"`
			Data     json.RawMessage `json:"data"`
			Metadata struct {
				Actor string `json:"actor"`
			} `json:"metadata"`
		} `json:"events"`
	}
	if err := json.Unmarshal(page.raw, &body); err != nil {
		t.Fatal(err)
	}
	var reads []map[string]any
	for _, e := range body.Events {
		if e.Type == "read.audited.v1" {
			var r map[string]any
			_ = json.Unmarshal(e.Data, &r)
			r["actor"], r["stream"] = e.Metadata.Actor, e.Stream
			reads = append(reads, r)
		}
	}
	t.Run("each history read is an event naming who read whose account", func(t *testing.T) {
		if len(reads) != 2 {
			t.Fatalf("%d reads recorded, want 2: %v", len(reads), reads)
		}
		want := []struct{ reader, subject string }{{"auditor-zhao", "beneficiary:" + ids[1]}, {"officer-wang", "beneficiary:" + ids[2]}}
		for i, w := range want {
			r := reads[i]
			if r["reader"] != w.reader || r["actor"] != w.reader || r["subject"] != w.subject || r["stream"] != "audit-reads" {
				t.Errorf("read %d: %v, want %s reading %s in audit-reads", i, r, w.reader, w.subject)
			}
		}
	})
	t.Run("reading the raw log is itself recorded", func(t *testing.T) {
		next := s.must(200, "GET", "/v1/events?after=0&limit=1000", auditor, nil)
		if !bytes.Contains(next.raw, []byte(`"path":"/v1/events"`)) {
			t.Error("the first page read of /v1/events was not recorded")
		}
	})
	t.Run("the views ignore recorded reads but for their log position", func(t *testing.T) {
		if got, want := viewSansPosition(t, s.must(200, "GET", "/v1/funds/AK-EMP", viewer, nil)), viewSansPosition(t, fundBefore); got != want {
			t.Errorf("fund view changed:\n%s\n%s", want, got)
		}
		if got, want := viewSansPosition(t, s.must(200, "GET", "/v1/portfolio?region=610900", viewer, nil)), viewSansPosition(t, portfolioBefore); got != want {
			t.Errorf("portfolio view changed:\n%s\n%s", want, got)
		}
	})
	t.Run("a history read naming an ID number instead of a beneficiary id does not write it into the log", func(t *testing.T) {
		s.do("GET", "/v1/history?account=beneficiary:"+knownPeople[0].idNumber+"&from=2017-01-01&name="+knownPeople[0].idNumber, auditor, nil)
		next := s.must(200, "GET", "/v1/events?after=0&limit=1000", auditor, nil)
		if bytes.Contains(next.raw, []byte(knownPeople[0].idNumber)) {
			t.Error("the ID number of a read's query is in the log")
		}
		if !bytes.Contains(next.raw, []byte("withheld")) || !bytes.Contains(next.raw, []byte("from=2017-01-01")) {
			t.Error("the read was not recorded with its withheld subject and its dates")
		}
	})
	t.Run("a viewer may not read payment history", func(t *testing.T) {
		s.must(http.StatusForbidden, "GET", "/v1/history?account=beneficiary:"+ids[1], viewer, nil)
	})
}
