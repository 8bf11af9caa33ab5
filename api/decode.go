package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/hrss-ledger/ledger/domain"
)

// readBody reads at most maxBodyBytes of a request body.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, badRequest("", "the request body could not be read")
	}
	if len(body) > maxBodyBytes {
		return nil, &Problem{Status: http.StatusRequestEntityTooLarge, Title: "Content Too Large",
			Detail: fmt.Sprintf("the body exceeds %d bytes", maxBodyBytes)}
	}
	return body, nil
}

// decodeStrict decodes one JSON object into v, refusing unknown fields,
// trailing data and values of the wrong type, naming the field at fault.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "the body must be a JSON object")
	}
	if err := checkDepth(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("", "the body must hold exactly one JSON object")
	}
	return nil
}

// jsonProblem turns a decoding error into a problem naming the field.
func jsonProblem(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return badRequest(typeErr.Field, fmt.Sprintf("must be a JSON %s", jsonKind(typeErr.Type.Kind().String())))
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return badRequest("", fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest(strings.Trim(name, `"`), "is not a field of this request")
	}
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	return badRequest("", "malformed JSON body")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64", "uint64", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	}
	return "object"
}

// money parses a required amount: a decimal string of CNY, at most 2 places.
func money(field string, s *string) (decimal.Decimal, error) {
	if s == nil {
		return decimal.Decimal{}, badRequest(field, "is required")
	}
	m, err := domain.ParseMoney(*s)
	if err != nil {
		return decimal.Decimal{}, fieldError(field, err)
	}
	return m, nil
}

// optionalMoney parses an amount that may be absent (zero then).
func optionalMoney(field string, s *string) (decimal.Decimal, error) {
	if s == nil {
		return decimal.Zero, nil
	}
	return money(field, s)
}

// rate parses a decimal that is not money (an interest rate, a target value).
func rate(field string, s *string) (decimal.Decimal, error) {
	if s == nil {
		return decimal.Decimal{}, badRequest(field, "is required")
	}
	d, err := decimal.NewFromString(strings.TrimSpace(*s))
	if err != nil || strings.ContainsAny(*s, "eE") {
		return decimal.Decimal{}, badRequest(field, "must be a decimal number as a string, such as \"0.0435\"")
	}
	return d, nil
}

// amountOn parses the required "amount" and "date" fields most money
// commands carry, naming the first bad one.
func amountOn(amount *string, day string) (decimal.Decimal, domain.Date, error) {
	m, err := money("amount", amount)
	d, derr := date("date", day)
	return m, d, firstErr(err, derr)
}

// date parses a required business date YYYY-MM-DD.
func date(field string, s string) (domain.Date, error) {
	if s == "" {
		return domain.Date{}, badRequest(field, "is required")
	}
	d, err := domain.ParseDate(s)
	if err != nil {
		return domain.Date{}, fieldError(field, err)
	}
	return d, nil
}

// fieldError renames the field of a domain parse error to the API's field.
func fieldError(field string, err error) error {
	var de *domain.Error
	if errors.As(err, &de) {
		copy := *de
		copy.Field = field
		return &copy
	}
	return badRequest(field, "is malformed")
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
