package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/api/vault"
	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

// roleTokens gives one bearer token per role.
var roleTokens = map[Role]string{
	RoleOfficer: "tok-officer", RoleApprover: "tok-approver", RoleAuditor: "tok-auditor", RoleViewer: "tok-viewer",
}

// newDocServer builds a server with real tokens, a real vault and a real
// in-memory log; it has no sequencer and no views, which the tests below
// never reach.
func newDocServer(t *testing.T) (*Server, *memory.Store) {
	t.Helper()
	var lines []string
	for role, token := range roleTokens {
		lines = append(lines, string(role)+" "+token)
	}
	tokens, err := ParseTokens(strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatalf("ParseTokens: %v", err)
	}
	v, err := vault.Open(t.TempDir())
	if err != nil {
		t.Fatalf("vault.Open: %v", err)
	}
	log := memory.New()
	t.Cleanup(func() { _ = log.Close() })
	return NewServer(Config{Tokens: tokens, Personal: v, Log: log}), log
}

// loadDoc loads and validates a document with kin-openapi.
func loadDoc(t *testing.T, data []byte) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("loading the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return doc
}

func serverDoc(t *testing.T, s *Server) *openapi3.T {
	t.Helper()
	data, err := json.Marshal(s.openAPI())
	if err != nil {
		t.Fatalf("marshal the OpenAPI document: %v", err)
	}
	return loadDoc(t, data)
}

// operation is one documented method and path.
type operation struct {
	method, path string
	op           *openapi3.Operation
}

func (o operation) pattern() string { return strings.ToUpper(o.method) + " " + o.path }

func operations(doc *openapi3.T) []operation {
	var out []operation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out = append(out, operation{strings.ToLower(method), path, op})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pattern() < out[j].pattern() })
	return out
}

var pathParamFill = regexp.MustCompile(`\{[a-z_]+\}`)

func concretePath(path string) string { return pathParamFill.ReplaceAllString(path, "X1") }

func TestOpenAPIDocument(t *testing.T) {
	s, _ := newDocServer(t)
	doc := serverDoc(t, s)
	t.Run("is OpenAPI 3.0.3", func(t *testing.T) {
		if got, want := doc.OpenAPI, "3.0.3"; got != want {
			t.Errorf("openapi = %q, want %q", got, want)
		}
	})
	t.Run("documents exactly the routes of the tables the mux is built from", func(t *testing.T) {
		var got, want []string
		for _, o := range operations(doc) {
			got = append(got, o.pattern())
		}
		for _, r := range s.commandRoutes() {
			want = append(want, r.pattern)
		}
		for _, r := range s.queryRoutes() {
			want = append(want, r.pattern)
		}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("documented operations\n got %v\nwant %v", got, want)
		}
	})
	t.Run("every documented operation is served by the mux under its pattern", func(t *testing.T) {
		for _, o := range operations(doc) {
			r := httptest.NewRequest(strings.ToUpper(o.method), concretePath(o.path), nil)
			if _, got := s.mux.Handler(r); got != o.pattern() {
				t.Errorf("%s: the mux serves pattern %q", o.pattern(), got)
			}
		}
	})
	t.Run("every contract endpoint the mux serves is documented", func(t *testing.T) {
		documented := map[string]bool{}
		for _, o := range operations(doc) {
			documented[o.pattern()] = true
		}
		for _, probe := range contractEndpoints {
			method, path, _ := strings.Cut(probe, " ")
			_, pattern := s.mux.Handler(httptest.NewRequest(method, concretePath(path), nil))
			if pattern != "" && !documented[pattern] {
				t.Errorf("%s is served as %q but not documented", probe, pattern)
			}
		}
	})
	t.Run("leaves out only the dashboard's static routes, none of them under /v1", func(t *testing.T) {
		documented := map[string]bool{}
		for _, o := range operations(doc) {
			documented[o.pattern()] = true
		}
		static := map[string]bool{}
		for _, r := range s.staticRoutes() {
			static[r.pattern] = true
			if _, path := splitPattern(r.pattern); strings.HasPrefix(path, "/v1/") || documented[r.pattern] {
				t.Errorf("static route %s is under /v1 or documented", r.pattern)
			}
		}
		for _, probe := range []string{"/", "/assets/app.js", "/index.html", "/v1/nope", "/assets/"} {
			_, pattern := s.mux.Handler(httptest.NewRequest(http.MethodGet, probe, nil))
			if pattern != "" && !documented[pattern] && !static[pattern] {
				t.Errorf("GET %s is served as %q, neither documented nor a static route", probe, pattern)
			}
		}
	})
	t.Run("every POST and PUT takes an Idempotency-Key header", func(t *testing.T) {
		for _, o := range operations(doc) {
			if o.method != "post" && o.method != "put" {
				continue
			}
			if p := o.op.Parameters.GetByInAndName("header", "Idempotency-Key"); p == nil {
				t.Errorf("%s has no Idempotency-Key header", o.pattern())
			}
		}
	})
	t.Run("every authenticated operation names its roles and answers problems", func(t *testing.T) {
		for _, o := range operations(doc) {
			if o.op.Security != nil && len(*o.op.Security) == 0 {
				continue // open: /healthz, /metrics, /openapi.json
			}
			if _, ok := o.op.Extensions["x-roles"]; !ok || !strings.Contains(o.op.Description, "Roles: ") {
				t.Errorf("%s does not name its roles", o.pattern())
			}
			for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
				resp := o.op.Responses.Status(status)
				if resp == nil || resp.Value.Content.Get("application/problem+json") == nil {
					t.Errorf("%s: no problem+json answer for %d", o.pattern(), status)
				}
			}
		}
	})
	t.Run("history is also answered as text/csv", func(t *testing.T) {
		ok := doc.Paths.Value("/v1/history").Get.Responses.Status(http.StatusOK)
		if ok.Value.Content.Get("text/csv") == nil {
			t.Errorf("GET /v1/history documents no text/csv answer")
		}
	})
}

// contractEndpoints are the endpoints of shared/API.md, including those that
// other work may add: once the mux serves one, the document must name it.
var contractEndpoints = []string{
	"POST /v1/regions", "POST /v1/funds", "POST /v1/funds/{fund_id}/allocations", "POST /v1/beneficiaries",
	"POST /v1/beneficiaries/{beneficiary_id}/categories", "POST /v1/programs", "POST /v1/subsidies",
	"POST /v1/subsidies/{payment_id}/reversals", "POST /v1/loans", "POST /v1/loans/{loan_id}/repayments",
	"POST /v1/loans/{loan_id}/interest-subsidies", "POST /v1/loans/{loan_id}/defaults",
	"POST /v1/loans/{loan_id}/compensations", "POST /v1/loans/{loan_id}/recoveries",
	"POST /v1/loans/{loan_id}/write-offs", "POST /v1/placements", "POST /v1/placements/{placement_id}/end",
	"POST /v1/placements/{placement_id}/reversals", "POST /v1/trainings", "PUT /v1/targets", "POST /v1/statistics",
	"GET /v1/progress", "GET /v1/portfolio", "GET /v1/funds/{fund_id}", "GET /v1/loans/{loan_id}",
	"GET /v1/history", "GET /v1/events", "GET /v1/audit/verify", "GET /v1/subscribe",
	"GET /healthz", "GET /metrics", "GET /openapi.json",
}

func TestOpenAPIServedOverHTTP(t *testing.T) {
	s, _ := newDocServer(t)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatalf("GET /openapi.json: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	t.Run("answers 200 without a token", func(t *testing.T) {
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Errorf("status = %d, want %d", got, want)
		}
	})
	t.Run("answers application/json", func(t *testing.T) {
		if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
			t.Errorf("Content-Type = %q, want application/json", got)
		}
	})
	t.Run("answers a valid document with every route", func(t *testing.T) {
		doc := loadDoc(t, body)
		if got, want := len(operations(doc)), len(s.commandRoutes())+len(s.queryRoutes()); got != want {
			t.Errorf("%d operations, want %d", got, want)
		}
	})
}

// TestOpenAPIRolesAreEnforced asks every authenticated operation as every
// role: a documented role gets past authentication, any other gets 403, and
// no token gets 401.
func TestOpenAPIRolesAreEnforced(t *testing.T) {
	s, _ := newDocServer(t)
	doc := serverDoc(t, s)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, o := range operations(doc) {
		roles, ok := o.op.Extensions["x-roles"].([]any)
		if !ok {
			continue
		}
		command := o.method != "get"
		for _, role := range []Role{RoleOfficer, RoleApprover, RoleAuditor, RoleViewer} {
			allowed := slices.Contains(roles, any(string(role)))
			if allowed && !command && o.path != "/v1/events" {
				continue // past authentication a query needs views this server lacks
			}
			want := http.StatusForbidden
			if allowed && command {
				want = http.StatusBadRequest // an empty body is refused after authentication
			} else if allowed {
				want = http.StatusOK
			}
			t.Run(o.pattern()+" as "+string(role)+" answers "+http.StatusText(want), func(t *testing.T) {
				if got := call(t, srv, o, roleTokens[role]); got != want {
					t.Errorf("status = %d, want %d", got, want)
				}
			})
		}
		t.Run(o.pattern()+" without a token answers 401", func(t *testing.T) {
			if got := call(t, srv, o, ""); got != http.StatusUnauthorized {
				t.Errorf("status = %d, want %d", got, http.StatusUnauthorized)
			}
		})
	}
}

func call(t *testing.T, srv *httptest.Server, o operation, token string) int {
	t.Helper()
	req, err := http.NewRequest(strings.ToUpper(o.method), srv.URL+concretePath(o.path), nil)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", o.pattern(), err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestOpenAPIEventsAnswerMatchesSchema reads a real log over HTTP and checks
// the answer against the documented schema.
func TestOpenAPIEventsAnswerMatchesSchema(t *testing.T) {
	s, log := newDocServer(t)
	doc := serverDoc(t, s)
	commit := eventstore.Commit{CommandID: "c1", Fingerprint: "f1", Events: []eventstore.Event{{
		ID: uuid.Must(uuid.NewV7()), Stream: "region-440000", Type: "region.defined.v1",
		Data: []byte(`{"code":"440000","name":"广东省"}`),
		Meta: eventstore.Meta{BusinessDate: "2017-03-01", Actor: "officer", CommandID: "c1", Fingerprint: "f1"},
	}}}
	if _, err := log.Append(context.Background(), commit); err != nil {
		t.Fatalf("append: %v", err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/events?after=0&limit=10", nil)
	req.Header.Set("Authorization", "Bearer "+roleTokens[RoleAuditor])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/events: %v", err)
	}
	defer resp.Body.Close()
	var answer any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatalf("decode: %v", err)
	}
	schema := doc.Paths.Value("/v1/events").Get.Responses.Status(http.StatusOK).Value.Content.Get("application/json").Schema.Value
	if err := schema.VisitJSON(answer); err != nil {
		t.Errorf("the answer %v does not match the documented schema: %v", answer, err)
	}
	if events, _ := answer.(map[string]any)["events"].([]any); len(events) != 1 {
		t.Errorf("got %d events, want 1", len(events))
	}
}

// TestOpenAPIReceiptMatchesSchema checks a real command answer body.
func TestOpenAPIReceiptMatchesSchema(t *testing.T) {
	s, _ := newDocServer(t)
	doc := serverDoc(t, s)
	events, err := domain.NewLedger().Decide(domain.DefineRegion{Code: "440000", Name: "广东省",
		Date: domain.DateOf(time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	var answer any
	if err := json.Unmarshal(mustJSON(receiptBody(Receipt{Events: events, First: 1, Last: 1})), &answer); err != nil {
		t.Fatalf("decode: %v", err)
	}
	schema := doc.Components.Schemas["Receipt"].Value
	if err := schema.VisitJSON(answer); err != nil {
		t.Errorf("the receipt %v does not match the documented schema: %v", answer, err)
	}
}

// TestOpenAPIBodiesAreWhatHandlersDecode feeds each command's builder the
// bodies its documented schema allows and forbids.
func TestOpenAPIBodiesAreWhatHandlersDecode(t *testing.T) {
	s, _ := newDocServer(t)
	doc := serverDoc(t, s)
	routes := map[string]commandRoute{}
	for _, r := range s.commandRoutes() {
		routes[r.pattern] = r
	}
	vocabulary := knownFields(doc)
	for _, o := range operations(doc) {
		route, ok := routes[o.pattern()]
		if !ok {
			continue
		}
		schema := o.op.RequestBody.Value.Content.Get("application/json").Schema.Value
		build := func(body map[string]any) error {
			r := httptest.NewRequest(strings.ToUpper(o.method), concretePath(o.path), nil)
			_, err := route.build(input{r: r, body: mustJSON(body), today: domain.DateOf(time.Now())})
			return err
		}
		t.Run(o.pattern()+" accepts a body with every documented field", func(t *testing.T) {
			body := sample(schema).(map[string]any)
			if err := schema.VisitJSON(body); err != nil {
				t.Fatalf("the sample %v breaks its own schema: %v", body, err)
			}
			if err := build(body); err != nil {
				t.Errorf("build(%v): %v", body, err)
			}
		})
		t.Run(o.pattern()+" accepts every documented enum value", func(t *testing.T) {
			for _, c := range enumCases(schema) {
				if err := build(c.body); err != nil {
					t.Errorf("%s: build(%v): %v", c.field, c.body, err)
				}
			}
		})
		t.Run(o.pattern()+" refuses every known field it does not document", func(t *testing.T) {
			for name, value := range vocabulary {
				if _, documented := schema.Properties[name]; documented {
					continue
				}
				body := sample(schema).(map[string]any)
				body[name] = value
				if err := build(body); problemFor(err).Status != http.StatusBadRequest {
					t.Errorf("build with %s = %v: got %v, want a 400", name, value, err)
				}
			}
		})
		t.Run(o.pattern()+" refuses a value that breaks a documented format", func(t *testing.T) {
			for _, c := range badCases(schema) {
				if err := build(c.body); problemFor(err).Status != http.StatusBadRequest {
					t.Errorf("%s: build(%v): got %v, want a 400", c.field, c.body, err)
				}
			}
		})
	}
}

// knownFields is every top-level body field of every command, with a valid value.
func knownFields(doc *openapi3.T) map[string]any {
	out := map[string]any{}
	for _, o := range operations(doc) {
		if o.op.RequestBody == nil {
			continue
		}
		for name, prop := range o.op.RequestBody.Value.Content.Get("application/json").Schema.Value.Properties {
			if _, seen := out[name]; !seen {
				out[name] = sample(prop.Value)
			}
		}
	}
	return out
}

// sample is a value of a schema, valid for the builders.
func sample(s *openapi3.Schema) any {
	switch {
	case len(s.Enum) > 0:
		return s.Enum[0]
	case len(s.OneOf) > 0:
		return sample(s.OneOf[0].Value)
	case s.Type.Is("object"):
		out := map[string]any{}
		for name, prop := range s.Properties {
			out[name] = sample(prop.Value)
		}
		return out
	case s.Type.Is("array"):
		return []any{sample(s.Items.Value)}
	case s.Type.Is("integer"), s.Type.Is("number"):
		return 1
	case s.Type.Is("boolean"):
		return false
	case s.Format == "date":
		return "2017-03-01"
	case s.Pattern == moneyPattern:
		return "5000.00"
	case s.Pattern == decimalPattern:
		return "0.0435"
	}
	return "X1"
}

// bodyCase is a sample body with one field changed.
type bodyCase struct {
	field string
	body  map[string]any
}

// badCases changes, one at a time, each field with a format, a pattern or a
// choice of types (top level and one object or array down) to a value that
// breaks it.
func badCases(schema *openapi3.Schema) []bodyCase {
	return fieldCases(schema, func(s *openapi3.Schema) []any {
		switch {
		case s.Format == "date":
			return []any{"2017-02-30", "1.3.2017"}
		case s.Pattern == moneyPattern:
			return []any{"1.234", "-5", "1e3", ""}
		case s.Pattern == decimalPattern, len(s.OneOf) > 0:
			return []any{"1e3", "abc"}
		}
		return nil
	})
}

// enumCases sets each enum field to each of its documented values.
func enumCases(schema *openapi3.Schema) []bodyCase {
	return fieldCases(schema, func(s *openapi3.Schema) []any {
		if s.Type.Is("array") && len(s.Items.Value.Enum) > 0 {
			var out []any
			for _, v := range s.Items.Value.Enum {
				out = append(out, []any{v})
			}
			return out
		}
		return s.Enum
	})
}

func fieldCases(schema *openapi3.Schema, values func(*openapi3.Schema) []any) []bodyCase {
	var out []bodyCase
	for name, prop := range schema.Properties {
		for _, v := range values(prop.Value) {
			body := sample(schema).(map[string]any)
			body[name] = v
			out = append(out, bodyCase{name, body})
		}
		inner := prop.Value
		wrap := func(v any) any { return v }
		if inner.Type.Is("array") {
			inner, wrap = inner.Items.Value, func(v any) any { return []any{v} }
		}
		if !inner.Type.Is("object") {
			continue
		}
		for _, c := range fieldCases(inner, values) {
			body := sample(schema).(map[string]any)
			body[name] = wrap(c.body)
			out = append(out, bodyCase{name + "." + c.field, body})
		}
	}
	return out
}
