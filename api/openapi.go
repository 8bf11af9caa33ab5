package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hrss-ledger/ledger/domain"
)

// The OpenAPI document is generated from the route tables the mux serves
// (commandRoutes, queryRoutes) and from the Go types the handlers decode and
// encode, so that it cannot drift from what the server does.

const openAPIVersion = "3.0.3"

// Patterns of the decimal strings the handlers accept.
const (
	// moneyPattern is what domain.ParseMoney accepts: at most 15 integer
	// digits and at most 2 decimals, no sign, no exponent.
	moneyPattern = `^[0-9]{1,15}(\.[0-9]{1,2})?$`
	// decimalPattern is a plain decimal that is not money (a rate, a target).
	decimalPattern = `^-?[0-9]+(\.[0-9]+)?$`
)

// Body fields whose JSON string is a business date (parsed by date()).
var dateFields = map[string]bool{
	"date": true, "from": true, "to": true, "valid_from": true, "valid_to": true,
	"issue_date": true, "period_end": true,
}

// Body fields whose *string is a plain decimal (parsed by rate()); every
// other *string of a body is money (parsed by money() or optionalMoney()).
var decimalFields = map[string]bool{"annual_rate": true}

// regionFlags are the flags buildRegion accepts.
var regionFlags = []string{"poor_village", "credit_village"}

// bodyEnums lists the closed vocabularies of body fields, by body type and
// JSON name; for an array field the values are those of its items.
var bodyEnums = map[reflect.Type]map[string][]string{
	reflect.TypeFor[regionBody]():      {"flags": regionFlags},
	reflect.TypeFor[fundBody]():        {"kind": names(domain.FundKinds)},
	reflect.TypeFor[beneficiaryBody](): {"kind": names(domain.BeneficiaryKinds)},
	reflect.TypeFor[categoryBody]():    {"category": names(domain.Categories)},
	reflect.TypeFor[programBody](): {"subsidy_type": names(domain.SubsidyTypes),
		"eligible_categories": names(domain.Categories)},
	reflect.TypeFor[loanBody]():      {"borrower_kind": names(domain.BorrowerKinds)},
	reflect.TypeFor[placementBody](): {"kind": names(domain.PlacementKinds)},
	reflect.TypeFor[trainingBody]():  {"course_kind": names(domain.CourseKinds)},
	reflect.TypeFor[targetBody](): {"indicator": names(domain.Indicators),
		"issuer": names(domain.Issuers), "direction": names(domain.Directions)},
	reflect.TypeFor[statisticBody](): {"indicator": names(domain.Indicators)},
	reflect.TypeFor[approvalBody]():  {"decision": approvalDecisions},
}

func names[S ~string](values []S) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// compensationBody is the part of loanAmountBody that buildCompensation
// accepts: the loan's guarantee fund pays, so no fund_id may be named.
type compensationBody struct {
	Amount   *string `json:"amount"`
	Date     string  `json:"date"`
	Document string  `json:"document"`
}

// recoveryBody is the part of loanAmountBody that buildRecovery accepts.
type recoveryBody struct {
	Amount *string `json:"amount"`
	Date   string  `json:"date"`
}

// eventsPage is the answer of GET /v1/events.
type eventsPage struct {
	Events    []eventBody `json:"events"`
	NextAfter uint64      `json:"next_after"`
}

// param is one query or header parameter of a GET endpoint.
type param struct {
	name        string
	in          string // "query" or "header"
	description string
	required    bool
	schema      map[string]any
}

func (p param) require() param {
	p.required = true
	return p
}

// The parameters the query handlers read.
var (
	regionParam = param{name: "region", in: "query", required: true, description: "region code (6, 9 or 12 digits)",
		schema: map[string]any{"type": "string", "pattern": `^([0-9]{6}|[0-9]{9}|[0-9]{12})$`}}
	yearParam = param{name: "year", in: "query", description: "calendar year",
		schema: map[string]any{"type": "integer", "minimum": 1949, "maximum": 2200}}
	issuerParam = param{name: "issuer", in: "query", description: "only targets set by this issuer",
		schema: enumSchema(names(domain.Issuers))}
	asOfParam = param{name: "as_of", in: "query", description: "figures as of this business date",
		schema: dateSchema()}
	minPositionParam = param{name: "X-Min-Position", in: "header",
		description: "wait until the views reflect this log position (read-your-writes across servers)",
		schema:      map[string]any{"type": "integer", "format": "int64", "minimum": 0}}
	viewParam = param{name: "view", in: "query", required: true,
		schema: enumSchema([]string{"progress", "portfolio"})}
	figureParam = param{name: "figure", in: "query", required: true,
		description: "an indicator, or a portfolio field", schema: map[string]any{"type": "string", "minLength": 1}}
	accountParam = param{name: "account", in: "query", required: true,
		description: "fund:ID, beneficiary:ID, loan:ID or bank:NAME",
		schema:      map[string]any{"type": "string", "pattern": `^(fund|beneficiary|loan|bank):.+$`}}
	viewsParam = param{name: "views", in: "query", required: true,
		description: "comma-separated views: progress, portfolio, funds, loans",
		schema:      map[string]any{"type": "string", "pattern": `^(progress|portfolio|funds|loans)(,(progress|portfolio|funds|loans))*$`}}
	optionalRegionParam = param{name: "region", in: "query", description: "only changes of this region",
		schema: map[string]any{"type": "string", "pattern": `^([0-9]{6}|[0-9]{9}|[0-9]{12})$`}}
	fromParam  = param{name: "from", in: "query", description: "first business date", schema: dateSchema()}
	toParam    = param{name: "to", in: "query", description: "last business date", schema: dateSchema()}
	afterParam = param{name: "after", in: "query", description: "answer events after this log position",
		schema: map[string]any{"type": "integer", "format": "int64", "minimum": 0, "default": 0}}
	limitParam = param{name: "limit", in: "query", description: "at most this many events",
		schema: map[string]any{"type": "integer", "minimum": 1, "maximum": maxEventsPage, "default": defaultEventsPage}}
)

// Problem statuses the handlers answer, besides 401 and 403 of authentication.
var (
	viewProblems    = []int{http.StatusBadRequest, http.StatusNotFound, http.StatusInternalServerError, http.StatusServiceUnavailable}
	logProblems     = []int{http.StatusBadRequest, http.StatusInternalServerError, http.StatusServiceUnavailable}
	commandProblems = []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict,
		http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusInternalServerError,
		http.StatusServiceUnavailable}
)

func enumSchema(values []string) map[string]any {
	return map[string]any{"type": "string", "enum": values}
}

func dateSchema() map[string]any { return map[string]any{"type": "string", "format": "date"} }

// serveOpenAPI answers the document. It is generated on each request: it
// costs a few hundred microseconds and keeps no state.
func (s *Server) serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.openAPI())
}

// openAPI builds the OpenAPI document of every route the mux serves.
func (s *Server) openAPI() map[string]any {
	g := &schemas{defs: map[string]any{}, types: map[string]reflect.Type{}}
	paths := map[string]map[string]any{}
	for _, route := range s.commandRoutes() {
		method, path := splitPattern(route.pattern)
		addOperation(paths, path, method, s.heldResponse(route, g.commandOperation(route, path)))
	}
	for _, route := range s.queryRoutes() {
		method, path := splitPattern(route.pattern)
		addOperation(paths, path, method, g.queryOperation(route, path))
	}
	g.defs["Problem"] = g.object(reflect.TypeFor[Problem](), false)
	g.defs["Receipt"] = receiptSchema()
	return map[string]any{
		"openapi": openAPIVersion,
		"info": map[string]any{
			"title":   "HRSS ledger",
			"version": "1",
			"description": "Event-sourced ledger of employment subsidies and guaranteed startup loans. " +
				"Money is a decimal string in CNY with at most 2 decimal places; business dates are YYYY-MM-DD. " +
				"Errors are application/problem+json (RFC 9457).",
		},
		"paths":    paths,
		"security": []any{map[string]any{"bearer": []any{}}},
		"components": map[string]any{
			"schemas": g.defs,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer",
					"description": "a token from the tokens file; its role decides what it may do"},
			},
		},
	}
}

func addOperation(paths map[string]map[string]any, path, method string, op map[string]any) {
	if paths[path] == nil {
		paths[path] = map[string]any{}
	}
	if _, dup := paths[path][method]; dup {
		panic("api: openapi: two routes for " + method + " " + path)
	}
	paths[path][method] = op
}

// splitPattern turns a mux pattern "POST /v1/x/{id}" into "post", "/v1/x/{id}".
func splitPattern(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		panic("api: openapi: route pattern without a method: " + pattern)
	}
	return strings.ToLower(method), path
}

var pathParamRE = regexp.MustCompile(`\{([a-z_]+)\}`)

func pathParams(path string) []any {
	var out []any
	for _, m := range pathParamRE.FindAllStringSubmatch(path, -1) {
		out = append(out, map[string]any{"name": m[1], "in": "path", "required": true,
			"schema": map[string]any{"type": "string", "minLength": 1}})
	}
	return out
}

func rolesText(roles []Role) (list []string, text string) {
	for _, r := range roles {
		list = append(list, string(r))
	}
	return list, "Roles: " + strings.Join(list, ", ") + "."
}

func (g *schemas) commandOperation(route commandRoute, path string) map[string]any {
	roles, rolesLine := rolesText(route.roles)
	params := append(pathParams(path),
		map[string]any{"name": "Idempotency-Key", "in": "header", "required": false,
			"description": "the same key with the same body returns the original answer and records nothing new; " +
				"with a different body it is a 409",
			"schema": map[string]any{"type": "string", "minLength": 1}},
		map[string]any{"name": "X-Correlation-Id", "in": "header", "required": false,
			"description": "recorded with the events, to tie the events of one business case together",
			"schema":      map[string]any{"type": "string"}})
	responses := map[string]any{
		strconv.Itoa(route.status): jsonResponse("accepted: the log position and the fields of the first event recorded",
			ref("Receipt")),
	}
	if route.kind == "register_beneficiary" {
		// command() answers an ID number registered before with its existing id.
		responses["200"] = jsonResponse("registered before: the existing beneficiary_id", map[string]any{
			"type": "object", "required": []string{"beneficiary_id", "position"},
			"properties": map[string]any{"beneficiary_id": map[string]any{"type": "string"},
				"position": map[string]any{"type": "integer", "format": "int64", "minimum": 0}}})
	}
	addProblems(responses, append([]int{http.StatusUnauthorized, http.StatusForbidden}, commandProblems...))
	return map[string]any{
		"operationId": route.kind,
		"summary":     sentence(route.kind),
		"description": rolesLine + " A refused command records nothing. Every answer carries X-Request-Id.",
		"x-roles":     roles,
		"parameters":  params,
		"requestBody": map[string]any{"required": true, "content": map[string]any{
			"application/json": map[string]any{"schema": g.of(reflect.TypeOf(route.body), true)}}},
		"responses": responses,
	}
}

func (g *schemas) queryOperation(route queryRoute, path string) map[string]any {
	params := pathParams(path)
	for _, p := range route.params {
		entry := map[string]any{"name": p.name, "in": p.in, "required": p.required, "schema": p.schema}
		if p.description != "" {
			entry["description"] = p.description
		}
		params = append(params, entry)
	}
	content := map[string]any{}
	if route.result != nil {
		content["application/json"] = map[string]any{"schema": g.of(reflect.TypeOf(route.result), false)}
	}
	for _, media := range route.media {
		content[media] = map[string]any{"schema": map[string]any{"type": "string"}}
	}
	responses := map[string]any{"200": map[string]any{"description": "OK", "content": content}}
	op := map[string]any{"operationId": route.name, "summary": route.summary, "responses": responses}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if route.roles == nil {
		op["security"] = []any{}
		op["description"] = "No authentication."
		addProblems(responses, route.problems)
		return op
	}
	roles, rolesLine := rolesText(route.roles)
	op["x-roles"] = roles
	op["description"] = rolesLine
	addProblems(responses, append([]int{http.StatusUnauthorized, http.StatusForbidden}, route.problems...))
	return op
}

func jsonResponse(description string, schema map[string]any) map[string]any {
	return map[string]any{"description": description,
		"content": map[string]any{"application/json": map[string]any{"schema": schema}}}
}

func addProblems(responses map[string]any, statuses []int) {
	for _, status := range statuses {
		responses[strconv.Itoa(status)] = map[string]any{"description": http.StatusText(status),
			"content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
	}
}

// receiptSchema describes receiptBody: a map, because it carries the fields
// of whichever event the command recorded first.
func receiptSchema() map[string]any {
	position := map[string]any{"type": "integer", "format": "int64", "minimum": 0}
	return map[string]any{
		"type":     "object",
		"required": []string{"type", "position", "first_position"},
		"properties": map[string]any{
			"type":           map[string]any{"type": "string", "description": "the first event's type, e.g. loan.issued.v1"},
			"position":       position,
			"first_position": position,
		},
		"additionalProperties": true,
		"description":          "the log positions of the recorded events and the fields of the first one (such as payment_id)",
	}
}

// sentence turns "define_region" into "Define region".
func sentence(kind string) string {
	s := strings.ReplaceAll(kind, "_", " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

func ref(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// schemas reflects Go types into OpenAPI schemas as encoding/json writes and
// reads them, collecting named structs under components.
type schemas struct {
	defs  map[string]any
	types map[string]reflect.Type
}

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// of returns the schema of t; request says t is decoded from a body (strict:
// no other fields) rather than encoded into an answer.
func (g *schemas) of(t reflect.Type, request bool) map[string]any {
	if t == rawMessageType {
		if request {
			// The only raw field of a body is a figure: a number or a decimal string.
			return map[string]any{"oneOf": []any{map[string]any{"type": "number"},
				map[string]any{"type": "string", "pattern": decimalPattern}}}
		}
		return map[string]any{"type": "object", "additionalProperties": true}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.pointer(t, request)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Int64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Uint64, reflect.Uint32, reflect.Uint:
		return map[string]any{"type": "integer", "format": "int64", "minimum": 0}
	case reflect.Slice:
		s := map[string]any{"type": "array", "items": g.of(t.Elem(), request)}
		if !request {
			s["nullable"] = true // a nil slice encodes as null
		}
		return s
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": true}
	case reflect.Struct:
		return g.named(t, request)
	}
	panic(fmt.Sprintf("api: openapi: no schema for %s", t))
}

// pointer: in an answer a nil pointer is null; in a body it is an absent field.
func (g *schemas) pointer(t reflect.Type, request bool) map[string]any {
	s := g.of(t.Elem(), request)
	if request {
		return s
	}
	if _, isRef := s["$ref"]; isRef {
		return map[string]any{"allOf": []any{s}, "nullable": true}
	}
	s["nullable"] = true
	return s
}

// named registers a struct under components and refers to it.
func (g *schemas) named(t reflect.Type, request bool) map[string]any {
	name := t.Name()
	name = strings.ToUpper(name[:1]) + name[1:]
	if prev, ok := g.types[name]; ok {
		if prev != t {
			panic(fmt.Sprintf("api: openapi: types %s and %s share the schema name %s", prev, t, name))
		}
		return ref(name)
	}
	g.types[name] = t
	g.defs[name] = g.object(t, request)
	return ref(name)
}

// object is the schema of a struct's exported JSON fields. In an answer a
// field without omitempty is always present, so it is required.
func (g *schemas) object(t reflect.Type, request bool) map[string]any {
	props := map[string]any{}
	var required []string
	for f := range t.Fields() {
		name, omitEmpty, ok := jsonName(f)
		if !ok {
			continue
		}
		if request {
			props[name] = g.bodyField(t, f, name)
		} else {
			props[name] = g.of(f.Type, false)
			if !omitEmpty {
				required = append(required, name)
			}
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if request {
		s["additionalProperties"] = false // decodeStrict refuses unknown fields
	}
	if len(required) > 0 {
		slices.Sort(required)
		s["required"] = required
	}
	return s
}

// bodyField adds to a body field's schema what the builders check of it.
func (g *schemas) bodyField(owner reflect.Type, f reflect.StructField, name string) map[string]any {
	s := g.of(f.Type, true)
	switch {
	case f.Type == reflect.TypeFor[*string]() && decimalFields[name]:
		s["pattern"] = decimalPattern
	case f.Type == reflect.TypeFor[*string]():
		s["pattern"] = moneyPattern
		s["description"] = "CNY, a decimal string with at most 2 decimal places"
	case f.Type.Kind() == reflect.String && dateFields[name]:
		s["format"] = "date"
	}
	if values, ok := bodyEnums[owner][name]; ok {
		if items, isArray := s["items"].(map[string]any); isArray {
			items["enum"] = values
		} else {
			s["enum"] = values
		}
	}
	return s
}

// jsonName reads a field's encoding/json name and omitempty option.
func jsonName(f reflect.StructField) (name string, omitEmpty, ok bool) {
	if !f.IsExported() {
		return "", false, false
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", false, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	return name, slices.Contains(strings.Split(opts, ","), "omitempty"), true
}
