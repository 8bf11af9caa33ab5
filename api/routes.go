package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/hrss-ledger/ledger/domain"
)

var (
	officers  = []Role{RoleOfficer}
	approvers = []Role{RoleApprover}
	readers   = []Role{RoleOfficer, RoleApprover, RoleAuditor, RoleViewer}
	tracers   = []Role{RoleOfficer, RoleAuditor}
	auditors  = []Role{RoleAuditor}
)

// commandRoute is one POST (or PUT) endpoint that records events.
type commandRoute struct {
	pattern string
	kind    string // for metrics and logs
	roles   []Role
	build   func(input) (domain.Command, error)
	status  int // on success
	body    any // a value of the JSON body's type, for the OpenAPI document
}

func (s *Server) commandRoutes() []commandRoute {
	return s.withApprovals([]commandRoute{
		{"POST /v1/regions", "define_region", officers, buildRegion, http.StatusCreated, regionBody{}},
		{"POST /v1/funds", "open_fund", officers, buildFund, http.StatusCreated, fundBody{}},
		{"POST /v1/funds/{fund_id}/allocations", "allocate_fund", officers, buildAllocation, http.StatusCreated, allocationBody{}},
		{"POST /v1/beneficiaries", "register_beneficiary", officers, s.buildBeneficiary, http.StatusCreated, beneficiaryBody{}},
		{"POST /v1/beneficiaries/{beneficiary_id}/categories", "certify_category", officers, buildCertification, http.StatusCreated, categoryBody{}},
		{"POST /v1/programs", "define_program", officers, buildProgram, http.StatusCreated, programBody{}},
		{"POST /v1/subsidies", "pay_subsidy", officers, buildSubsidy, http.StatusCreated, subsidyBody{}},
		{"POST /v1/subsidies/{payment_id}/reversals", "reverse_subsidy", approvers, buildSubsidyReversal, http.StatusCreated, reversalBody{}},
		{"POST /v1/loans", "issue_loan", officers, buildLoan, http.StatusCreated, loanBody{}},
		{"POST /v1/loans/{loan_id}/repayments", "repay_loan", officers, buildRepayment, http.StatusCreated, repaymentBody{}},
		{"POST /v1/loans/{loan_id}/interest-subsidies", "pay_interest_subsidy", officers, buildInterestSubsidy, http.StatusCreated, interestSubsidyBody{}},
		{"POST /v1/loans/{loan_id}/defaults", "declare_default", officers, buildDefault, http.StatusCreated, defaultBody{}},
		{"POST /v1/loans/{loan_id}/compensations", "compensate_loan", officers, buildCompensation, http.StatusCreated, compensationBody{}},
		{"POST /v1/loans/{loan_id}/recoveries", "recover_loan", officers, buildRecovery, http.StatusCreated, recoveryBody{}},
		{"POST /v1/loans/{loan_id}/write-offs", "write_off_loan", approvers, buildWriteOff, http.StatusCreated, loanAmountBody{}},
		{"POST /v1/loans/{loan_id}/closures", "close_loan", officers, buildClose, http.StatusCreated, closeBody{}},
		{"POST /v1/placements", "record_placement", officers, buildPlacement, http.StatusCreated, placementBody{}},
		{"POST /v1/placements/{placement_id}/end", "end_placement", officers, buildPlacementEnd, http.StatusCreated, placementChangeBody{}},
		{"POST /v1/placements/{placement_id}/reversals", "reverse_placement", approvers, buildPlacementReversal, http.StatusCreated, placementChangeBody{}},
		{"POST /v1/trainings", "record_training", officers, buildTraining, http.StatusCreated, trainingBody{}},
		{"PUT /v1/targets", "set_target", officers, buildTarget, http.StatusOK, targetBody{}},
		{"POST /v1/statistics", "report_statistic", officers, buildStatistic, http.StatusCreated, statisticBody{}},
	})
}

func (s *Server) routes() {
	for _, route := range s.commandRoutes() {
		s.mux.HandleFunc(route.pattern, s.authenticate(route.roles, s.command(route)))
	}
	for _, route := range s.queryRoutes() {
		handler := route.handler
		if route.roles != nil {
			handler = s.authenticate(route.roles, handler)
		}
		if route.tokenInQuery {
			handler = tokenFromQuery(handler)
		}
		s.mux.HandleFunc(route.pattern, handler)
	}
	for _, route := range s.staticRoutes() {
		s.mux.HandleFunc(route.pattern, route.handler)
	}
}

// command is the one handler of every command endpoint: decode strictly,
// build the domain command, execute it idempotently, answer with the events'
// position.
func (s *Server) command(route commandRoute) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		body, err := readBody(r)
		if err != nil {
			s.refuse(w, r, route, err)
			return
		}
		cmd, err := route.build(input{r: r, body: body, today: domain.DateOf(time.Now())})
		if err != nil {
			s.refuse(w, r, route, err)
			return
		}
		cmd, status := s.hold(r, route, cmd)
		req := s.commandRequest(r, body, cmd)
		receipt, err := s.commands.Execute(r.Context(), req)
		if errors.Is(err, domain.ErrBeneficiaryExists) {
			reg := cmd.(domain.RegisterBeneficiary)
			writeJSON(w, http.StatusOK, map[string]any{"beneficiary_id": reg.BeneficiaryID, "position": s.commands.Head()})
			return
		}
		if err != nil {
			s.refuse(w, r, route, err)
			return
		}
		s.metrics.observeCommand(route.kind, time.Since(start))
		writeJSON(w, status, receiptBody(receipt))
	}
}

func (s *Server) refuse(w http.ResponseWriter, r *http.Request, route commandRoute, err error) {
	reason := "invalid"
	var de *domain.Error
	if errors.As(err, &de) {
		reason = de.Rule.Error()
	} else if p := problemFor(err); p.Status >= 500 {
		reason = "unavailable"
	}
	s.metrics.observeRefusal(route.kind + ": " + reason)
	writeProblem(w, r, err)
}

// commandRequest derives the idempotency identity of a request: the same
// client key with the same method, path and body is the same command.
func (s *Server) commandRequest(r *http.Request, body []byte, cmd domain.Command) CommandRequest {
	principal := principalOf(r.Context())
	content := append([]byte(r.Method+" "+r.URL.Path+"\n"), body...)
	commandID := newID()
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		// Keys are scoped to the client, so two clients cannot collide.
		commandID = principal.Name + "/" + key
	}
	return CommandRequest{
		Command:       cmd,
		CommandID:     commandID,
		Fingerprint:   s.personal.Fingerprint(content),
		Actor:         principal.Name,
		CorrelationID: r.Header.Get("X-Correlation-Id"),
	}
}

// receiptBody answers a command with its position and the fields of its
// first event (the ids the server chose, such as payment_id), minus the
// sealed personal data.
func receiptBody(receipt Receipt) map[string]any {
	out := map[string]any{}
	if len(receipt.Events) > 0 {
		if typ, data, err := domain.Encode(receipt.Events[0]); err == nil {
			_ = json.Unmarshal(data, &out)
			out["type"] = typ
		}
	}
	delete(out, "personal")
	out["position"] = receipt.Last
	out["first_position"] = receipt.First
	return out
}

// health is the answer of GET /healthz.
type health struct {
	Status   string `json:"status"`
	Position uint64 `json:"position"`
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, health{Status: "ok", Position: s.commands.Head()})
}
