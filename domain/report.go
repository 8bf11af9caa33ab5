package domain

// The read-model results that projections compute, the API serializes and the
// dashboard shows (API.md, Queries). They are plain data: every figure is
// already formatted, money as a decimal string with 2 decimal places, counts
// as integer strings, percents and rates as decimal strings with one decimal
// place, so that the JSON of a view is a pure function of the log (a rebuild
// is byte-equal to the live view). Pointers are fields that are null when
// they do not apply (no target, a rate over nothing).

// ProgressReport is target progress for a region and a year, with its
// children in the region tree (GET /v1/progress).
type ProgressReport struct {
	Region     string              `json:"region"`
	Name       string              `json:"name"`
	Year       int                 `json:"year"`
	AsOf       string              `json:"as_of"`
	Position   uint64              `json:"position"`
	Indicators []IndicatorProgress `json:"indicators"`
	Children   []RegionProgress    `json:"children"`
}

// RegionProgress is one child region's progress inside a ProgressReport.
type RegionProgress struct {
	Region     string              `json:"region"`
	Name       string              `json:"name"`
	Indicators []IndicatorProgress `json:"indicators"`
}

// IndicatorProgress is one indicator against one issuer's target. Issuer,
// Target and Percent are null for an indicator with events but no target;
// OnTrack is null without a target too. Rank is the place among sibling
// regions for the same indicator and issuer (1 is best; 0 outside children).
type IndicatorProgress struct {
	Indicator string  `json:"indicator"`
	Issuer    *string `json:"issuer"`
	Target    *string `json:"target"`
	Actual    string  `json:"actual"`
	Percent   *string `json:"percent"`
	Direction string  `json:"direction"`
	OnTrack   *bool   `json:"on_track"`
	Rank      int     `json:"rank,omitempty"`
}

// PortfolioReport is the guaranteed-loan portfolio of a region (rolled up its
// subtree), for one year's flows or for all years (GET /v1/portfolio).
// Flows (issued, repaid, defaulted, compensated, recovered, written off, jobs)
// are dated inside the window; OutstandingPrincipal is the stock at its end.
type PortfolioReport struct {
	Region               string  `json:"region"`
	Year                 *int    `json:"year"`
	AsOf                 string  `json:"as_of"`
	Position             uint64  `json:"position"`
	IssuedCount          int64   `json:"issued_count"`
	IssuedAmount         string  `json:"issued_amount"`
	OutstandingPrincipal string  `json:"outstanding_principal"`
	RepaidPrincipal      string  `json:"repaid_principal"`
	DefaultedCount       int64   `json:"defaulted_count"`
	CompensatedAmount    string  `json:"compensated_amount"`
	RecoveredAmount      string  `json:"recovered_amount"`
	WrittenOffAmount     string  `json:"written_off_amount"`
	RepaymentRate        *string `json:"repayment_rate"`
	RecoveryRate         *string `json:"recovery_rate"`
	JobsCreated          int64   `json:"jobs_created"`
}

// FundReport is one fund's balance and flows (GET /v1/funds/{fund_id}).
// Balance = Allocated + Received - PaidOut.
type FundReport struct {
	FundID     string `json:"fund_id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	RegionCode string `json:"region_code"`
	AsOf       string `json:"as_of"`
	Position   uint64 `json:"position"`
	Balance    string `json:"balance"`
	Allocated  string `json:"allocated"`
	PaidOut    string `json:"paid_out"`
	Received   string `json:"received"`
}

// LoanReport is one loan's state (GET /v1/loans/{loan_id}).
// OutstandingPrincipal is what the borrower still owes (to the bank, or after
// compensation to the guarantee fund): principal - repaid - recovered - written off.
type LoanReport struct {
	LoanID               string `json:"loan_id"`
	Status               string `json:"status"`
	BorrowerID           string `json:"borrower_id"`
	Bank                 string `json:"bank"`
	RegionCode           string `json:"region_code"`
	IssueDate            string `json:"issue_date"`
	AsOf                 string `json:"as_of"`
	Position             uint64 `json:"position"`
	Principal            string `json:"principal"`
	OutstandingPrincipal string `json:"outstanding_principal"`
	RepaidPrincipal      string `json:"repaid_principal"`
	InterestPaid         string `json:"interest_paid"`
	InterestSubsidized   string `json:"interest_subsidized"`
	Compensated          string `json:"compensated"`
	Recovered            string `json:"recovered"`
	WrittenOff           string `json:"written_off"`
	JobsCreated          int64  `json:"jobs_created"`
}

// HistoryReport is the payment history of one account, oldest first
// (GET /v1/history).
type HistoryReport struct {
	Account  string         `json:"account"`
	Balance  string         `json:"balance"`
	Position uint64         `json:"position"`
	Entries  []HistoryEntry `json:"entries"`
}

// HistoryEntry is one movement of an account. Amount is signed from the
// account's side (positive in, negative out); BalanceAfter is the running
// balance over the whole history in log order.
type HistoryEntry struct {
	Position     uint64 `json:"position"`
	EventID      string `json:"event_id"`
	Date         string `json:"date"`
	Type         string `json:"type"`
	Amount       string `json:"amount"`
	Counterparty string `json:"counterparty"`
	Document     string `json:"document"`
	BalanceAfter string `json:"balance_after"`
}

// DrillDown lists the events behind one figure of a view, so that "why
// 127%?" is answered by the evidence.
type DrillDown struct {
	View      string          `json:"view"`
	Figure    string          `json:"figure"`
	Region    string          `json:"region"`
	Year      *int            `json:"year"`
	AsOf      string          `json:"as_of"`
	Position  uint64          `json:"position"`
	Value     string          `json:"value"`
	Truncated bool            `json:"truncated"`
	Events    []DrillDownItem `json:"events"`
}

// DrillDownItem is one event behind a figure and what it contributed.
type DrillDownItem struct {
	Position uint64 `json:"position"`
	EventID  string `json:"event_id"`
	Date     string `json:"date"`
	Type     string `json:"type"`
	Amount   string `json:"amount"`
}

// RegionNode is one region of the tree with its parent, as pickers list it
// (GET /v1/regions). ParentCode is "" for a root.
type RegionNode struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	ParentCode string `json:"parent_code"`
}
