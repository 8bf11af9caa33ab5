package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/hrss-ledger/ledger/domain"
)

// bulkRoutes are the command endpoints a CSV import feeds, by import kind.
var bulkRoutes = map[string]struct {
	path  string
	build func(input) (domain.Command, error)
}{
	"loans":      {"/v1/loans", buildLoan},
	"subsidies":  {"/v1/subsidies", buildSubsidy},
	"placements": {"/v1/placements", buildPlacement},
}

// DecodeCommand builds the domain command of one JSON body for an import
// kind (loans, subsidies, placements), through exactly the decoding and
// checks of the matching POST endpoint. today is the business date for
// fields the body leaves out.
func DecodeCommand(kind string, body []byte, today domain.Date) (domain.Command, error) {
	route, ok := bulkRoutes[kind]
	if !ok {
		return nil, fmt.Errorf("api: unknown import kind %q (loans, subsidies or placements)", kind)
	}
	r, err := http.NewRequest(http.MethodPost, route.path, strings.NewReader(""))
	if err != nil {
		return nil, err
	}
	return route.build(input{r: r, body: body, today: today})
}

// ProblemOf describes a refusal as a client would see it: status, field and detail.
func ProblemOf(err error) Problem { return *problemFor(err) }
