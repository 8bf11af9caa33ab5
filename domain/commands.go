package domain

import "github.com/shopspring/decimal"

// Command is a request to change the ledger. The set is sealed; Decide
// switches over it and panics on an unknown command. Commands carry every
// date and id they need: the domain has no clock and no randomness. Commands
// whose API body has no date carry Date, the business date the caller assigns
// (normally the day the request was received).
type Command interface{ isCommand() }

// DefineRegion adds a region to the tree under an existing parent (or as a root).
type DefineRegion struct {
	Code          string `json:"code"`
	Name          string `json:"name"`
	ParentCode    string `json:"parent_code,omitempty"`
	PoorVillage   bool   `json:"poor_village"`
	CreditVillage bool   `json:"credit_village"`
	Date          Date   `json:"date"`
}

// OpenFund opens a fund of a kind in a region.
type OpenFund struct {
	FundID     string   `json:"fund_id"`
	Name       string   `json:"name"`
	Kind       FundKind `json:"kind"`
	RegionCode string   `json:"region_code"`
	Date       Date     `json:"date"`
	Document   string   `json:"document,omitempty"`
}

// AllocateFund allocates budget money to a fund.
type AllocateFund struct {
	FundID   string          `json:"fund_id"`
	Amount   decimal.Decimal `json:"amount"`
	Date     Date            `json:"date"`
	Document string          `json:"document"`
}

// RegisterBeneficiary registers a person (IDNumber) or an enterprise
// (CreditCode) under BeneficiaryID, the pseudonym computed outside the domain
// (see Pseudonym). The plaintext number is here only so that Decide can check
// it; it never reaches an event. Personal is the encrypted personal data.
type RegisterBeneficiary struct {
	BeneficiaryID string           `json:"beneficiary_id"`
	Kind          BeneficiaryKind  `json:"kind"`
	IDNumber      string           `json:"id_number,omitempty"`
	CreditCode    string           `json:"credit_code,omitempty"`
	Personal      []byte           `json:"personal,omitempty"`
	RegionCode    string           `json:"region_code"`
	Categories    []CategoryPeriod `json:"categories"`
	Date          Date             `json:"date"`
}

// CertifyCategory certifies a beneficiary in a category for a period.
type CertifyCategory struct {
	BeneficiaryID string   `json:"beneficiary_id"`
	Category      Category `json:"category"`
	From          Date     `json:"from"`
	To            Date     `json:"to"`
	Document      string   `json:"document"`
}

// DefineProgram defines a subsidy program.
type DefineProgram struct {
	ProgramID           string      `json:"program_id"`
	SubsidyType         SubsidyType `json:"subsidy_type"`
	Name                string      `json:"name"`
	AmountRule          AmountRule  `json:"amount_rule"`
	EligibleCategories  []Category  `json:"eligible_categories"`
	LimitPerBeneficiary int         `json:"limit_per_beneficiary"`
	ValidFrom           Date        `json:"valid_from"`
	ValidTo             Date        `json:"valid_to"`
	Document            string      `json:"document,omitempty"`
}

// PaySubsidy pays a beneficiary from a fund under a program. PaymentID is
// chosen by the caller (e.g. derived from the idempotency key) and is unique.
type PaySubsidy struct {
	PaymentID     string          `json:"payment_id"`
	ProgramID     string          `json:"program_id"`
	BeneficiaryID string          `json:"beneficiary_id"`
	FundID        string          `json:"fund_id"`
	Amount        decimal.Decimal `json:"amount"`
	Date          Date            `json:"date"`
	Document      string          `json:"document"`
}

// ReverseSubsidy reverses part or all (zero Amount) of what is left of a payment.
type ReverseSubsidy struct {
	PaymentID string          `json:"payment_id"`
	Amount    decimal.Decimal `json:"amount"`
	Date      Date            `json:"date"`
	Reason    string          `json:"reason"`
	Document  string          `json:"document,omitempty"`
}

// IssueLoan records a guaranteed startup loan issued by a bank.
type IssueLoan struct {
	LoanID                 string          `json:"loan_id"`
	BorrowerID             string          `json:"borrower_id"`
	BorrowerKind           BorrowerKind    `json:"borrower_kind"`
	Partners               []string        `json:"partners,omitempty"`
	Bank                   string          `json:"bank"`
	Principal              decimal.Decimal `json:"principal"`
	AnnualRate             decimal.Decimal `json:"annual_rate"`
	TermMonths             int             `json:"term_months"`
	IssueDate              Date            `json:"issue_date"`
	GuaranteeFundID        string          `json:"guarantee_fund_id"`
	RegionCode             string          `json:"region_code"`
	CounterGuaranteeWaived bool            `json:"counter_guarantee_waived"`
	JobsCreated            int             `json:"jobs_created"`
	Document               string          `json:"document,omitempty"`
}

// RepayLoan records the borrower repaying the bank principal and interest.
type RepayLoan struct {
	LoanID    string          `json:"loan_id"`
	Principal decimal.Decimal `json:"principal"`
	Interest  decimal.Decimal `json:"interest"`
	Date      Date            `json:"date"`
}

// PayInterestSubsidy pays part of a loan's interest from an employment subsidy fund.
type PayInterestSubsidy struct {
	LoanID    string          `json:"loan_id"`
	Amount    decimal.Decimal `json:"amount"`
	FundID    string          `json:"fund_id"`
	PeriodEnd Date            `json:"period_end"`
	Document  string          `json:"document,omitempty"`
}

// DeclareDefault records that the borrower defaulted.
type DeclareDefault struct {
	LoanID string `json:"loan_id"`
	Date   Date   `json:"date"`
	Reason string `json:"reason,omitempty"`
}

// CompensateLoan records the guarantee fund paying the bank for a defaulted loan.
type CompensateLoan struct {
	LoanID   string          `json:"loan_id"`
	Amount   decimal.Decimal `json:"amount"`
	Date     Date            `json:"date"`
	Document string          `json:"document,omitempty"`
}

// RecoverLoan records money recovered from the borrower into the guarantee fund.
type RecoverLoan struct {
	LoanID string          `json:"loan_id"`
	Amount decimal.Decimal `json:"amount"`
	Date   Date            `json:"date"`
}

// WriteOffLoan writes off a loan's remaining bad debt, charged to a
// bad_debt_reserve fund, under an approval document.
type WriteOffLoan struct {
	LoanID   string          `json:"loan_id"`
	Amount   decimal.Decimal `json:"amount"`
	FundID   string          `json:"fund_id"`
	Date     Date            `json:"date"`
	Document string          `json:"document"`
}

// CloseLoan closes a loan that owes nothing.
type CloseLoan struct {
	LoanID string `json:"loan_id"`
	Date   Date   `json:"date"`
}

// RecordPlacement records a person placed in a job.
type RecordPlacement struct {
	PlacementID   string        `json:"placement_id"`
	BeneficiaryID string        `json:"beneficiary_id"`
	Kind          PlacementKind `json:"kind"`
	RegionCode    string        `json:"region_code"`
	Date          Date          `json:"date"`
	Employer      string        `json:"employer,omitempty"`
}

// EndPlacement records that a placement's job ended.
type EndPlacement struct {
	PlacementID string `json:"placement_id"`
	Date        Date   `json:"date"`
	Reason      string `json:"reason"`
}

// ReversePlacement reverses a placement recorded in error.
type ReversePlacement struct {
	PlacementID string `json:"placement_id"`
	Date        Date   `json:"date"`
	Reason      string `json:"reason"`
}

// RecordTraining records a completed training course.
type RecordTraining struct {
	TrainingID    string     `json:"training_id"`
	BeneficiaryID string     `json:"beneficiary_id"`
	CourseKind    CourseKind `json:"course_kind"`
	RegionCode    string     `json:"region_code"`
	Date          Date       `json:"date"`
}

// SetTarget sets or revises the target of a region, year, indicator and issuer.
type SetTarget struct {
	RegionCode string          `json:"region_code"`
	Year       int             `json:"year"`
	Indicator  Indicator       `json:"indicator"`
	Issuer     Issuer          `json:"issuer"`
	Value      decimal.Decimal `json:"value"`
	Direction  Direction       `json:"direction"`
	Date       Date            `json:"date"`
	Document   string          `json:"document,omitempty"`
}

// ReportStatistic records a reported figure such as the registered unemployment rate.
type ReportStatistic struct {
	RegionCode string          `json:"region_code"`
	Year       int             `json:"year"`
	Indicator  Indicator       `json:"indicator"`
	Value      decimal.Decimal `json:"value"`
	Date       Date            `json:"date"`
	Document   string          `json:"document,omitempty"`
}

// SetLoanPolicy records a new version of the loan caps.
type SetLoanPolicy struct {
	LoanPolicy
}

func (DefineRegion) isCommand()        {}
func (OpenFund) isCommand()            {}
func (AllocateFund) isCommand()        {}
func (RegisterBeneficiary) isCommand() {}
func (CertifyCategory) isCommand()     {}
func (DefineProgram) isCommand()       {}
func (PaySubsidy) isCommand()          {}
func (ReverseSubsidy) isCommand()      {}
func (IssueLoan) isCommand()           {}
func (RepayLoan) isCommand()           {}
func (PayInterestSubsidy) isCommand()  {}
func (DeclareDefault) isCommand()      {}
func (CompensateLoan) isCommand()      {}
func (RecoverLoan) isCommand()         {}
func (WriteOffLoan) isCommand()        {}
func (CloseLoan) isCommand()           {}
func (RecordPlacement) isCommand()     {}
func (EndPlacement) isCommand()        {}
func (ReversePlacement) isCommand()    {}
func (RecordTraining) isCommand()      {}
func (SetTarget) isCommand()           {}
func (ReportStatistic) isCommand()     {}
func (SetLoanPolicy) isCommand()       {}
