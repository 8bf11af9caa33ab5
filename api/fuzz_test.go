package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzStatuses are the statuses a command may answer; anything else (a
// 500 above all) is a bug the fuzzer found.
var fuzzStatuses = map[int]bool{200: true, 201: true, 202: true, 400: true, 403: true, 404: true, 409: true, 413: true, 422: true}

// FuzzCommandBodies posts arbitrary bodies to every command endpoint
// through the real handler and sequencer (four eyes on, so approvals are
// reached too): no panic, every refusal a 4xx problem+json, and a refused
// command appends nothing.
func FuzzCommandBodies(f *testing.F) {
	fourEyes, err := ParseFourEyes("write-offs,reversals,payments-over=50000")
	if err != nil {
		f.Fatal(err)
	}
	fx := newCommandFixture(f, Config{FourEyes: fourEyes})
	routes := fx.server.commandRoutes()
	for i := range routes {
		f.Add(uint8(i), []byte(`{}`))
	}
	f.Add(uint8(0), []byte(`{"code":"610900","name":"安康市"}`))
	f.Add(uint8(6), []byte(`{"program_id":"P","beneficiary_id":"b","fund_id":"F","amount":"50000.01","date":"2017-03-01","document":"d"}`))
	f.Add(uint8(len(routes)-1), []byte(`{"decision":"approve","reason":"ok"}`))
	f.Add(uint8(0), []byte(`{"code":"610900","flags":`+strings.Repeat("[", 5000)+`}`))
	f.Add(uint8(3), []byte(`{"kind":"person","id_number":"11010519491231002X","name":"张三","region_code":"610900","categories":[{"category":"x","from":"2017-02-30"}]}`))
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := routes[int(route)%len(routes)]
		method, path := splitPattern(r.pattern)
		req := httptest.NewRequest(strings.ToUpper(method), concretePath(path), bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fuzzToken(r.roles))
		head := fx.writer.Head()
		rec := httptest.NewRecorder()
		fx.server.Handler().ServeHTTP(rec, req)
		if !fuzzStatuses[rec.Code] {
			t.Fatalf("%s with %q: status %d %s", r.pattern, body, rec.Code, rec.Body)
		}
		if rec.Code < 400 {
			return
		}
		var p Problem
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Status != rec.Code {
			t.Fatalf("%s with %q: %d answered as %s: %s", r.pattern, body, rec.Code, ct, rec.Body)
		}
		if after := fx.writer.Head(); after != head {
			t.Fatalf("%s with %q: refused with %d but the log grew from %d to %d", r.pattern, body, rec.Code, head, after)
		}
	})
}

// fuzzToken is a token of a role the route admits.
func fuzzToken(roles []Role) string {
	if allows(RoleOfficer, roles) {
		return "tok-wang"
	}
	return "tok-li"
}

// FuzzQueryParameters reads arbitrary query strings through every
// parameter reader of the queries and through GET /v1/events: no panic,
// and every refusal a 400 naming a parameter.
func FuzzQueryParameters(f *testing.F) {
	for _, q := range []string{"region=610900&year=2017", "year=1948", "year=99999999999999999999", "as_of=2017-02-30",
		"after=18446744073709551616&limit=0", "limit=1001", "views=progress,portfolio&region=61", "account=beneficiary:%00&from=1900-01-01&to=2999-12-31",
		"region=%ZZ", strings.Repeat("a=1&", 1000), "issuer=province&as_of=2017-12-31"} {
		f.Add(q)
	}
	fx := newCommandFixture(f, Config{})
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "/v1/x", nil)
		r.URL.RawQuery = query
		p := params{r}
		_, err1 := p.region()
		_, err2 := p.year(true)
		_, err3 := p.year(false)
		from, err4 := p.date("from")
		to, err5 := p.date("to")
		_, _, err6 := pageParams(r)
		_, _, err7 := subscribeParams(r)
		for _, err := range []error{err1, err2, err3, err4, err5, err6, err7, checkSpan(from, to)} {
			if err != nil && problemFor(err).Status != http.StatusBadRequest {
				t.Fatalf("query %q: %v is not a 400", query, err)
			}
		}
		if q := readQuery(r); strings.ContainsAny(q, "\x00") {
			t.Fatalf("readQuery(%q) kept %q", query, q)
		}
		req := httptest.NewRequest(http.MethodGet, "/v1/events", nil)
		req.URL.RawQuery = query
		req.Header.Set("Authorization", "Bearer tok-zhao")
		rec := httptest.NewRecorder()
		fx.server.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && (rec.Code != http.StatusBadRequest || rec.Header().Get("Content-Type") != "application/problem+json") {
			t.Fatalf("GET /v1/events?%s: %d %s", query, rec.Code, rec.Body)
		}
	})
}
