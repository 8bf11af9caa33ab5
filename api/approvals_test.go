package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/hrss-ledger/ledger/api/vault"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/memory"
	"github.com/hrss-ledger/ledger/eventstore/writer"
)

// sequencer lets a Server hand commands to a real writer, as cmd/ledger does.
type sequencer struct{ w *writer.Writer }

func (s sequencer) Execute(ctx context.Context, req CommandRequest) (Receipt, error) {
	out, err := s.w.Execute(ctx, writer.Request{Command: req.Command, CommandID: req.CommandID,
		Fingerprint: req.Fingerprint, Actor: req.Actor, CorrelationID: req.CorrelationID})
	return Receipt{Events: out.Events, First: out.First, Last: out.Last, Duplicate: out.Duplicate}, err
}

func (s sequencer) Head() uint64 { return s.w.Head() }

// Tokens of two makers and two checkers.
const fourEyesTokens = `officer  tok-wang  officer-wang
officer  tok-zhou  officer-zhou
approver tok-li    approver-li
approver tok-sun   approver-sun
viewer   tok-screen
auditor  tok-zhao  auditor-zhao
`

// commandFixture is a Server over a real writer on an in-memory log.
type commandFixture struct {
	t      testing.TB
	srv    *httptest.Server
	log    *memory.Store
	server *Server
	writer *writer.Writer
}

func newCommandFixture(t testing.TB, cfg Config) *commandFixture {
	t.Helper()
	log := memory.New()
	w, err := writer.Open(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close(); _ = log.Close() })
	v, err := vault.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tokens == nil {
		if cfg.Tokens, err = ParseTokens(strings.NewReader(fourEyesTokens)); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Commands, cfg.Personal, cfg.Log = sequencer{w}, v, log
	s := NewServer(cfg)
	f := &commandFixture{t: t, srv: httptest.NewServer(s.Handler()), log: log, server: s, writer: w}
	t.Cleanup(f.srv.Close)
	return f
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (f *commandFixture) send(method, path, token string, body any) reply {
	f.t.Helper()
	var data []byte
	switch b := body.(type) {
	case string:
		data = []byte(b)
	case nil:
	default:
		data = mustJSON(b)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(data))
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (f *commandFixture) must(want int, method, path, token string, body any) reply {
	f.t.Helper()
	r := f.send(method, path, token, body)
	if r.status != want {
		f.t.Fatalf("%s %s: got %d %s, want %d", method, path, r.status, r.raw, want)
	}
	return r
}

// events returns the whole log.
func (f *commandFixture) events() []eventstore.Event {
	f.t.Helper()
	var out []eventstore.Event
	if err := f.log.Read(context.Background(), 0, func(e eventstore.Event) error {
		out = append(out, e)
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *commandFixture) count(eventType string) int {
	n := 0
	for _, e := range f.events() {
		if e.Type == eventType {
			n++
		}
	}
	return n
}

// seed records a region, a funded subsidy fund, a person and a program.
func (f *commandFixture) seed() (beneficiaryID string) {
	f.must(201, "POST", "/v1/regions", "tok-wang", map[string]any{"code": "610900", "name": "安康市"})
	f.must(201, "POST", "/v1/funds", "tok-wang", map[string]any{"fund_id": "ES", "name": "就业补助资金", "kind": "employment_subsidy", "region_code": "610900"})
	f.must(201, "POST", "/v1/funds/ES/allocations", "tok-wang", map[string]any{"amount": "1000000", "date": "2017-01-05", "document": "安财社〔2017〕1号"})
	person := f.must(201, "POST", "/v1/beneficiaries", "tok-wang", map[string]any{"kind": "person", "id_number": "11010519491231002X",
		"name": "张三", "region_code": "610900"})
	f.must(201, "POST", "/v1/programs", "tok-wang", map[string]any{"program_id": "POST", "subsidy_type": "public_welfare_post",
		"name": "公益性岗位补贴", "amount_rule": map[string]any{"max": "100000"}, "valid_from": "2017-01-01", "valid_to": "2017-12-31"})
	return person.body["beneficiary_id"].(string)
}

func payment(person, amount string) map[string]any {
	return map[string]any{"program_id": "POST", "beneficiary_id": person, "fund_id": "ES", "amount": amount,
		"date": "2017-03-01", "document": "安人社发〔2017〕8号"}
}

func TestParseFourEyes(t *testing.T) {
	cases := []struct {
		flag, want string
		ok         bool
	}{
		{"", "off", true},
		{"off", "off", true},
		{"write-offs,reversals,payments-over=50000", "write-offs,reversals,payments-over=50000", true},
		{"reversals", "reversals", true},
		{"payments-over=1000.50", "payments-over=1000.5", true},
		{"payments-over=1e5", "", false},
		{"payments-over", "", false},
		{"write-offs=1", "", false},
		{"everything", "", false},
	}
	for _, c := range cases {
		t.Run("the flag "+c.flag+" parses as "+c.want, func(t *testing.T) {
			got, err := ParseFourEyes(c.flag)
			if (err == nil) != c.ok {
				t.Fatalf("ParseFourEyes(%q) error = %v, want ok %v", c.flag, err, c.ok)
			}
			if c.ok && got.String() != c.want {
				t.Errorf("ParseFourEyes(%q) = %s, want %s", c.flag, got, c.want)
			}
		})
	}
}

func TestFourEyesPayments(t *testing.T) {
	fourEyes, err := ParseFourEyes("write-offs,reversals,payments-over=50000")
	if err != nil {
		t.Fatal(err)
	}
	f := newCommandFixture(t, Config{FourEyes: fourEyes})
	person := f.seed()

	t.Run("a payment up to the threshold takes effect at once", func(t *testing.T) {
		f.must(201, "POST", "/v1/subsidies", "tok-wang", payment(person, "50000"))
	})
	held := f.must(202, "POST", "/v1/subsidies", "tok-wang", payment(person, "50000.01"))
	requestID, _ := held.body["request_id"].(string)
	t.Run("a payment over the threshold is held with a request id and pays nothing", func(t *testing.T) {
		if requestID == "" || held.body["type"] != "approval.requested.v1" || held.body["maker"] != "officer-wang" {
			t.Errorf("answer %s, want an approval.requested.v1 receipt naming the maker", held.raw)
		}
		if got := f.count("subsidy.paid.v1"); got != 1 {
			t.Errorf("%d payments in the log, want 1", got)
		}
	})
	t.Run("another officer may not approve", func(t *testing.T) {
		f.must(403, "POST", "/v1/approvals/"+requestID, "tok-zhou", map[string]any{"decision": "approve"})
	})
	t.Run("an approval with an unknown decision is a 400", func(t *testing.T) {
		r := f.must(400, "POST", "/v1/approvals/"+requestID, "tok-li", map[string]any{"decision": "maybe"})
		if r.body["field"] != "decision" {
			t.Errorf("field = %v, want decision", r.body["field"])
		}
	})
	approved := f.must(201, "POST", "/v1/approvals/"+requestID, "tok-li", map[string]any{"decision": "approve", "reason": "核对无误"})
	t.Run("an approver's approval pays in the same commit as the approval", func(t *testing.T) {
		events := f.events()
		var granted, paid *eventstore.Event
		for i := range events {
			switch events[i].Type {
			case "approval.granted.v1":
				granted = &events[i]
			case "subsidy.paid.v1":
				paid = &events[i]
			}
		}
		if granted == nil || paid == nil {
			t.Fatalf("log has no approval or no second payment: %s", approved.raw)
		}
		if paid.Position != granted.Position+1 || paid.Meta.CommandID != granted.Meta.CommandID {
			t.Errorf("approval at %d (%s), payment at %d (%s): want one commit", granted.Position, granted.Meta.CommandID,
				paid.Position, paid.Meta.CommandID)
		}
	})
	t.Run("both people are in the events", func(t *testing.T) {
		for _, e := range f.events() {
			if e.Type != "approval.granted.v1" {
				continue
			}
			if !strings.Contains(string(e.Data), `"maker":"officer-wang"`) || !strings.Contains(string(e.Data), `"approver":"approver-li"`) ||
				e.Meta.Actor != "approver-li" {
				t.Errorf("granted event %s by %s, want maker officer-wang and approver approver-li", e.Data, e.Meta.Actor)
			}
		}
	})
	t.Run("an approved request cannot be approved twice", func(t *testing.T) {
		f.must(409, "POST", "/v1/approvals/"+requestID, "tok-sun", map[string]any{"decision": "approve"})
	})
	t.Run("an unknown request is a 404", func(t *testing.T) {
		f.must(404, "POST", "/v1/approvals/019a0000-0000-7000-8000-000000000000", "tok-li", map[string]any{"decision": "approve"})
	})
	t.Run("a rejected request never pays", func(t *testing.T) {
		r := f.must(202, "POST", "/v1/subsidies", "tok-zhou", payment(person, "60000"))
		f.must(400, "POST", "/v1/approvals/"+r.body["request_id"].(string), "tok-li", map[string]any{"decision": "reject"})
		f.must(201, "POST", "/v1/approvals/"+r.body["request_id"].(string), "tok-li", map[string]any{"decision": "reject", "reason": "依据不足"})
		f.must(409, "POST", "/v1/approvals/"+r.body["request_id"].(string), "tok-sun", map[string]any{"decision": "approve"})
		if got := f.count("subsidy.paid.v1"); got != 2 {
			t.Errorf("%d payments in the log, want 2", got)
		}
	})
}

func TestFourEyesReversalsAndWriteOffs(t *testing.T) {
	fourEyes, err := ParseFourEyes("write-offs,reversals")
	if err != nil {
		t.Fatal(err)
	}
	f := newCommandFixture(t, Config{FourEyes: fourEyes})
	person := f.seed()
	paid := f.must(201, "POST", "/v1/subsidies", "tok-wang", payment(person, "90000"))
	reversal := "/v1/subsidies/" + paid.body["payment_id"].(string) + "/reversals"

	t.Run("an officer may ask for a reversal, which is held", func(t *testing.T) {
		r := f.must(202, "POST", reversal, "tok-wang", map[string]any{"reason": "重复申领", "date": "2017-03-02"})
		if f.count("subsidy.reversed.v1") != 0 {
			t.Error("a held reversal took effect")
		}
		f.must(201, "POST", "/v1/approvals/"+r.body["request_id"].(string), "tok-sun", map[string]any{"decision": "approve"})
		if got := f.count("subsidy.reversed.v1"); got != 1 {
			t.Errorf("%d reversals after approval, want 1", got)
		}
	})
	t.Run("an approver's own request needs another approver", func(t *testing.T) {
		f.must(201, "POST", "/v1/subsidies", "tok-wang", payment(person, "100"))
		second := f.events()[len(f.events())-1]
		var body map[string]any
		_ = json.Unmarshal(second.Data, &body)
		r := f.must(202, "POST", "/v1/subsidies/"+body["payment_id"].(string)+"/reversals", "tok-li",
			map[string]any{"reason": "错发", "date": "2017-03-02"})
		self := f.must(422, "POST", "/v1/approvals/"+r.body["request_id"].(string), "tok-li", map[string]any{"decision": "approve"})
		if self.body["field"] != "approver" {
			t.Errorf("self-approval answer %s, want field approver", self.raw)
		}
		f.must(201, "POST", "/v1/approvals/"+r.body["request_id"].(string), "tok-sun", map[string]any{"decision": "approve"})
	})
	t.Run("a viewer may not ask for a reversal", func(t *testing.T) {
		f.must(403, "POST", reversal, "tok-screen", map[string]any{"reason": "x", "date": "2017-03-02"})
	})
	t.Run("a held command the ledger would refuse is refused at once", func(t *testing.T) {
		f.must(404, "POST", "/v1/loans/NOPE/write-offs", "tok-wang", map[string]any{"amount": "1", "fund_id": "ES", "date": "2017-03-02", "document": "d"})
	})
}

func TestFourEyesOffKeepsTheContractRoles(t *testing.T) {
	f := newCommandFixture(t, Config{})
	person := f.seed()
	paid := f.must(201, "POST", "/v1/subsidies", "tok-wang", payment(person, "90000"))
	reversal := "/v1/subsidies/" + paid.body["payment_id"].(string) + "/reversals"
	t.Run("an officer may not reverse", func(t *testing.T) {
		f.must(403, "POST", reversal, "tok-wang", map[string]any{"reason": "x", "date": "2017-03-02"})
	})
	t.Run("an approver reverses at once", func(t *testing.T) {
		f.must(201, "POST", reversal, "tok-li", map[string]any{"reason": "x", "date": "2017-03-02"})
	})
	t.Run("no payment is held", func(t *testing.T) {
		f.must(201, "POST", "/v1/subsidies", "tok-wang", payment(person, "99999"))
	})
}

// TestFourEyesDocumentedRolesAreEnforced asks every command endpoint of a
// server with four eyes on as every role, from the OpenAPI document of that
// server: what it documents is what it does.
func TestFourEyesDocumentedRolesAreEnforced(t *testing.T) {
	fourEyes, err := ParseFourEyes("write-offs,reversals,payments-over=50000")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := newDocServer(t)
	s := NewServer(Config{Tokens: base.tokens, Personal: base.personal, Log: base.log, FourEyes: fourEyes})
	doc := serverDoc(t, s)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	heldKinds := []string{"pay_subsidy", "pay_interest_subsidy", "compensate_loan", "write_off_loan", "reverse_subsidy", "reverse_placement"}
	for _, o := range operations(doc) {
		if o.method == "get" {
			continue
		}
		t.Run(o.pattern()+" documents a 202 exactly when it may be held", func(t *testing.T) {
			held := slices.Contains(heldKinds, o.op.OperationID)
			if got := o.op.Responses.Status(http.StatusAccepted) != nil; got != held {
				t.Errorf("documents 202: %v, want %v", got, held)
			}
		})
		roles, _ := o.op.Extensions["x-roles"].([]any)
		for _, role := range Roles {
			want := http.StatusForbidden
			if slices.Contains(roles, any(string(role))) {
				want = http.StatusBadRequest // past authentication, an empty body
			}
			t.Run(o.pattern()+" as "+string(role)+" answers "+http.StatusText(want), func(t *testing.T) {
				if got := call(t, srv, o, roleTokens[role]); got != want {
					t.Errorf("status = %d, want %d", got, want)
				}
			})
		}
	}
	t.Run("an officer may ask for write-offs and reversals", func(t *testing.T) {
		for _, path := range []string{"/v1/loans/{loan_id}/write-offs", "/v1/subsidies/{payment_id}/reversals", "/v1/placements/{placement_id}/reversals"} {
			roles, _ := doc.Paths.Value(path).Post.Extensions["x-roles"].([]any)
			if !slices.Contains(roles, any("officer")) || !slices.Contains(roles, any("approver")) {
				t.Errorf("%s roles %v, want officer and approver", path, roles)
			}
		}
	})
}
