package domain

import (
	"strconv"

	"github.com/shopspring/decimal"
)

// Event is a fact the ledger has recorded. Events are past-tense structs; the
// set is sealed (isEvent is unexported) so that every switch over events can
// be exhaustive and panic on an unknown one.
type Event interface {
	isEvent()
	// EventType is the stable wire name with its schema version, e.g. "loan.issued.v1".
	EventType() string
	// StreamID is the aggregate the event belongs to, e.g. "loan-L2017-0001".
	StreamID() string
	// BusinessDate is when it happened in the world.
	BusinessDate() Date
}

// RegionDefined: an administrative division joined the region tree.
type RegionDefined struct {
	Code          string `json:"code"`
	Name          string `json:"name"`
	ParentCode    string `json:"parent_code,omitempty"` // "" for a root
	PoorVillage   bool   `json:"poor_village"`          // 贫困村
	CreditVillage bool   `json:"credit_village"`        // 信用乡村: counter-guarantee may be waived
	Date          Date   `json:"date"`
}

// FundOpened: a fund exists and may receive allocations.
type FundOpened struct {
	FundID     string   `json:"fund_id"`
	Name       string   `json:"name"`
	Kind       FundKind `json:"kind"`
	RegionCode string   `json:"region_code"`
	Date       Date     `json:"date"`
	Document   string   `json:"document,omitempty"`
}

// FundAllocated: budget money of the fund's region was allocated to the fund
// (posting budget:REGION -> fund:ID).
type FundAllocated struct {
	FundID     string          `json:"fund_id"`
	RegionCode string          `json:"region_code"` // the fund's region, whose budget is the source
	Amount     decimal.Decimal `json:"amount"`
	Date       Date            `json:"date"`
	Document   string          `json:"document"` // 文号 of the allocation
}

// CategoryPeriod is one certified category with its validity period. A zero
// To means open-ended.
type CategoryPeriod struct {
	Category Category `json:"category"`
	From     Date     `json:"from"`
	To       Date     `json:"to"`
	Document string   `json:"document,omitempty"` // the certification, e.g. 就业困难人员认定
}

// covers reports whether the period includes d.
func (p CategoryPeriod) covers(d Date) bool { return d.within(p.From, p.To) }

// BeneficiaryRegistered: a person or enterprise became known to the ledger
// under a pseudonymous id. Personal data (name, ID number) is only in the
// encrypted Personal blob, so destroying the person's key forgets them.
type BeneficiaryRegistered struct {
	BeneficiaryID string           `json:"beneficiary_id"`
	Kind          BeneficiaryKind  `json:"kind"`
	RegionCode    string           `json:"region_code"`
	Categories    []CategoryPeriod `json:"categories"`
	Personal      []byte           `json:"personal,omitempty"` // encrypted outside the domain; base64 in JSON
	Date          Date             `json:"date"`
}

// CategoryCertified: a beneficiary was certified in a category for a period.
// Its business date is the start of the period.
type CategoryCertified struct {
	BeneficiaryID string   `json:"beneficiary_id"`
	Category      Category `json:"category"`
	From          Date     `json:"from"`
	To            Date     `json:"to"`
	Document      string   `json:"document"`
}

// AmountRule says how much a program pays: exactly Fixed, or at most Max.
// Exactly one of them is set.
type AmountRule struct {
	Fixed decimal.Decimal `json:"fixed,omitzero"`
	Max   decimal.Decimal `json:"max,omitzero"`
}

// ProgramDefined: a subsidy program exists. Its business date is ValidFrom.
type ProgramDefined struct {
	ProgramID           string      `json:"program_id"`
	SubsidyType         SubsidyType `json:"subsidy_type"`
	Name                string      `json:"name"`
	AmountRule          AmountRule  `json:"amount_rule"`
	EligibleCategories  []Category  `json:"eligible_categories"` // empty: anyone
	LimitPerBeneficiary int         `json:"limit_per_beneficiary"`
	ValidFrom           Date        `json:"valid_from"`
	ValidTo             Date        `json:"valid_to"`
	Document            string      `json:"document,omitempty"`
}

// SubsidyPaid: a fund paid a beneficiary under a program (fund:F -> beneficiary:B).
type SubsidyPaid struct {
	PaymentID     string          `json:"payment_id"`
	ProgramID     string          `json:"program_id"`
	SubsidyType   SubsidyType     `json:"subsidy_type"`
	BeneficiaryID string          `json:"beneficiary_id"`
	FundID        string          `json:"fund_id"`
	RegionCode    string          `json:"region_code"` // the beneficiary's region, for roll-ups
	Amount        decimal.Decimal `json:"amount"`
	Date          Date            `json:"date"`
	Document      string          `json:"document"`
}

// SubsidyReversed: part or all of a payment was reversed or clawed back
// (beneficiary:B -> fund:F). It points at the original by PaymentID.
type SubsidyReversed struct {
	PaymentID     string          `json:"payment_id"`
	ProgramID     string          `json:"program_id"`
	BeneficiaryID string          `json:"beneficiary_id"`
	FundID        string          `json:"fund_id"`
	RegionCode    string          `json:"region_code"`
	Amount        decimal.Decimal `json:"amount"`
	Date          Date            `json:"date"`
	Reason        string          `json:"reason"`
	Document      string          `json:"document,omitempty"`
}

// LoanIssued: a bank lent a guaranteed startup loan (bank:NAME -> loan:ID).
type LoanIssued struct {
	LoanID                 string          `json:"loan_id"`
	BorrowerID             string          `json:"borrower_id"`
	BorrowerKind           BorrowerKind    `json:"borrower_kind"`
	Partners               []string        `json:"partners,omitempty"`
	Bank                   string          `json:"bank"`
	Principal              decimal.Decimal `json:"principal"`
	AnnualRate             decimal.Decimal `json:"annual_rate"` // a fraction: "0.0435" is 4.35%
	TermMonths             int             `json:"term_months"`
	IssueDate              Date            `json:"issue_date"`
	GuaranteeFundID        string          `json:"guarantee_fund_id"`
	RegionCode             string          `json:"region_code"`
	PoorVillage            bool            `json:"poor_village"` // the region was flagged poor_village at issue
	CounterGuaranteeWaived bool            `json:"counter_guarantee_waived"`
	JobsCreated            int             `json:"jobs_created"`
	Document               string          `json:"document,omitempty"`
}

// LoanRepaid: the borrower repaid the bank principal (loan:ID -> bank:NAME)
// and interest (interest:ID -> bank:NAME).
type LoanRepaid struct {
	LoanID    string          `json:"loan_id"`
	Bank      string          `json:"bank"`
	Principal decimal.Decimal `json:"principal"`
	Interest  decimal.Decimal `json:"interest"`
	Date      Date            `json:"date"`
}

// InterestSubsidyPaid: public money paid part of the loan's interest
// (贴息; fund:F -> interest:ID).
type InterestSubsidyPaid struct {
	LoanID     string          `json:"loan_id"`
	FundID     string          `json:"fund_id"`
	RegionCode string          `json:"region_code"`
	Amount     decimal.Decimal `json:"amount"`
	PeriodEnd  Date            `json:"period_end"`
	Document   string          `json:"document,omitempty"`
}

// LoanDefaulted: the borrower defaulted; the guarantee fund may now compensate.
type LoanDefaulted struct {
	LoanID string `json:"loan_id"`
	Date   Date   `json:"date"`
	Reason string `json:"reason,omitempty"`
}

// LoanCompensated: the guarantee fund paid the bank what the borrower owed
// (代偿; fund:G -> bank:NAME). The borrower now owes the guarantee fund.
type LoanCompensated struct {
	LoanID          string          `json:"loan_id"`
	GuaranteeFundID string          `json:"guarantee_fund_id"`
	Bank            string          `json:"bank"`
	Amount          decimal.Decimal `json:"amount"`
	Date            Date            `json:"date"`
	Document        string          `json:"document,omitempty"`
}

// LoanRecovered: money was recovered from the borrower into the guarantee
// fund (追偿; loan:ID -> fund:G).
type LoanRecovered struct {
	LoanID          string          `json:"loan_id"`
	GuaranteeFundID string          `json:"guarantee_fund_id"`
	Amount          decimal.Decimal `json:"amount"`
	Date            Date            `json:"date"`
}

// LoanWrittenOff: the remaining bad debt was written off (呆坏账核销) under an
// approval document: the loan's outstanding principal is cleared
// (loan:ID -> writeoff:ID) and the reserve fund makes the guarantee fund whole
// (fund:R -> fund:G).
type LoanWrittenOff struct {
	LoanID          string          `json:"loan_id"`
	FundID          string          `json:"fund_id"` // the bad_debt_reserve fund charged
	GuaranteeFundID string          `json:"guarantee_fund_id"`
	Amount          decimal.Decimal `json:"amount"`
	Date            Date            `json:"date"`
	Document        string          `json:"document"` // the approving authority's 文号
}

// LoanClosed: the loan's life is over; nothing more may happen to it.
type LoanClosed struct {
	LoanID string `json:"loan_id"`
	Date   Date   `json:"date"`
}

// PlacementRecorded: a person was placed in a job. Indicators lists the
// indicators it counts for, decided from the DOMAIN.md table with the
// person's categories valid on the placement date.
type PlacementRecorded struct {
	PlacementID   string        `json:"placement_id"`
	BeneficiaryID string        `json:"beneficiary_id"`
	Kind          PlacementKind `json:"kind"`
	RegionCode    string        `json:"region_code"`
	Date          Date          `json:"date"`
	Employer      string        `json:"employer,omitempty"`
	Indicators    []Indicator   `json:"indicators"`
}

// PlacementEnded: the job ended. The placement still counts for the year it began.
type PlacementEnded struct {
	PlacementID string `json:"placement_id"`
	Date        Date   `json:"date"`
	Reason      string `json:"reason"`
}

// PlacementReversed: the placement was recorded in error and stops counting.
// It repeats what the original counted for, so that views need not look it up.
type PlacementReversed struct {
	PlacementID   string      `json:"placement_id"`
	BeneficiaryID string      `json:"beneficiary_id"`
	RegionCode    string      `json:"region_code"`
	PlacementDate Date        `json:"placement_date"`
	Indicators    []Indicator `json:"indicators"`
	Date          Date        `json:"date"`
	Reason        string      `json:"reason"`
}

// TrainingRecorded: a person completed a training course.
type TrainingRecorded struct {
	TrainingID    string     `json:"training_id"`
	BeneficiaryID string     `json:"beneficiary_id"`
	CourseKind    CourseKind `json:"course_kind"`
	RegionCode    string     `json:"region_code"`
	Date          Date       `json:"date"`
}

// TargetSet: a target was set, or revised (Revision > 1), for a region, year,
// indicator and issuer. The latest revision is the target.
type TargetSet struct {
	RegionCode string          `json:"region_code"`
	Year       int             `json:"year"`
	Indicator  Indicator       `json:"indicator"`
	Issuer     Issuer          `json:"issuer"`
	Value      decimal.Decimal `json:"value"`
	Direction  Direction       `json:"direction"`
	Revision   int             `json:"revision"`
	Date       Date            `json:"date"`
	Document   string          `json:"document,omitempty"`
}

// StatisticReported: a figure was reported (e.g. the registered unemployment
// rate in percent). A later report for the same region, year and indicator supersedes it.
type StatisticReported struct {
	RegionCode string          `json:"region_code"`
	Year       int             `json:"year"`
	Indicator  Indicator       `json:"indicator"`
	Value      decimal.Decimal `json:"value"`
	Date       Date            `json:"date"`
	Document   string          `json:"document,omitempty"`
}

// LoanPolicy is one version of the loan caps, in force from EffectiveFrom
// until the next version. A partnership's cap is PartnershipMax, or, when
// PartnerShare is set, PartnerShare × number of partners × IndividualMax
// (2020: 110% of the partners' individual total).
type LoanPolicy struct {
	EffectiveFrom  Date            `json:"effective_from"`
	IndividualMax  decimal.Decimal `json:"individual_max"`
	PartnershipMax decimal.Decimal `json:"partnership_max,omitzero"`
	PartnerShare   decimal.Decimal `json:"partner_share,omitzero"`
	EnterpriseMax  decimal.Decimal `json:"enterprise_max"`
	Document       string          `json:"document,omitempty"` // e.g. 财金〔2020〕21号
}

// LoanPolicySet: a loan policy version was recorded; it replaces any version
// with the same EffectiveFrom.
type LoanPolicySet struct {
	LoanPolicy
}

func (RegionDefined) isEvent()         {}
func (FundOpened) isEvent()            {}
func (FundAllocated) isEvent()         {}
func (BeneficiaryRegistered) isEvent() {}
func (CategoryCertified) isEvent()     {}
func (ProgramDefined) isEvent()        {}
func (SubsidyPaid) isEvent()           {}
func (SubsidyReversed) isEvent()       {}
func (LoanIssued) isEvent()            {}
func (LoanRepaid) isEvent()            {}
func (InterestSubsidyPaid) isEvent()   {}
func (LoanDefaulted) isEvent()         {}
func (LoanCompensated) isEvent()       {}
func (LoanRecovered) isEvent()         {}
func (LoanWrittenOff) isEvent()        {}
func (LoanClosed) isEvent()            {}
func (PlacementRecorded) isEvent()     {}
func (PlacementEnded) isEvent()        {}
func (PlacementReversed) isEvent()     {}
func (TrainingRecorded) isEvent()      {}
func (TargetSet) isEvent()             {}
func (StatisticReported) isEvent()     {}
func (LoanPolicySet) isEvent()         {}

// The stable wire names. A change to an event's JSON gets a new version.
const (
	TypeRegionDefined         = "region.defined.v1"
	TypeFundOpened            = "fund.opened.v1"
	TypeFundAllocated         = "fund.allocated.v1"
	TypeBeneficiaryRegistered = "beneficiary.registered.v1"
	TypeCategoryCertified     = "beneficiary.category_certified.v1"
	TypeProgramDefined        = "program.defined.v1"
	TypeSubsidyPaid           = "subsidy.paid.v1"
	TypeSubsidyReversed       = "subsidy.reversed.v1"
	TypeLoanIssued            = "loan.issued.v1"
	TypeLoanRepaid            = "loan.repaid.v1"
	TypeInterestSubsidyPaid   = "loan.interest_subsidy_paid.v1"
	TypeLoanDefaulted         = "loan.defaulted.v1"
	TypeLoanCompensated       = "loan.compensated.v1"
	TypeLoanRecovered         = "loan.recovered.v1"
	TypeLoanWrittenOff        = "loan.written_off.v1"
	TypeLoanClosed            = "loan.closed.v1"
	TypePlacementRecorded     = "placement.recorded.v1"
	TypePlacementEnded        = "placement.ended.v1"
	TypePlacementReversed     = "placement.reversed.v1"
	TypeTrainingRecorded      = "training.recorded.v1"
	TypeTargetSet             = "target.set.v1"
	TypeStatisticReported     = "statistic.reported.v1"
	TypeLoanPolicySet         = "policy.loan_caps_set.v1"
)

// EventType returns the wire name.
func (RegionDefined) EventType() string { return TypeRegionDefined }

// EventType returns the wire name.
func (FundOpened) EventType() string { return TypeFundOpened }

// EventType returns the wire name.
func (FundAllocated) EventType() string { return TypeFundAllocated }

// EventType returns the wire name.
func (BeneficiaryRegistered) EventType() string { return TypeBeneficiaryRegistered }

// EventType returns the wire name.
func (CategoryCertified) EventType() string { return TypeCategoryCertified }

// EventType returns the wire name.
func (ProgramDefined) EventType() string { return TypeProgramDefined }

// EventType returns the wire name.
func (SubsidyPaid) EventType() string { return TypeSubsidyPaid }

// EventType returns the wire name.
func (SubsidyReversed) EventType() string { return TypeSubsidyReversed }

// EventType returns the wire name.
func (LoanIssued) EventType() string { return TypeLoanIssued }

// EventType returns the wire name.
func (LoanRepaid) EventType() string { return TypeLoanRepaid }

// EventType returns the wire name.
func (InterestSubsidyPaid) EventType() string { return TypeInterestSubsidyPaid }

// EventType returns the wire name.
func (LoanDefaulted) EventType() string { return TypeLoanDefaulted }

// EventType returns the wire name.
func (LoanCompensated) EventType() string { return TypeLoanCompensated }

// EventType returns the wire name.
func (LoanRecovered) EventType() string { return TypeLoanRecovered }

// EventType returns the wire name.
func (LoanWrittenOff) EventType() string { return TypeLoanWrittenOff }

// EventType returns the wire name.
func (LoanClosed) EventType() string { return TypeLoanClosed }

// EventType returns the wire name.
func (PlacementRecorded) EventType() string { return TypePlacementRecorded }

// EventType returns the wire name.
func (PlacementEnded) EventType() string { return TypePlacementEnded }

// EventType returns the wire name.
func (PlacementReversed) EventType() string { return TypePlacementReversed }

// EventType returns the wire name.
func (TrainingRecorded) EventType() string { return TypeTrainingRecorded }

// EventType returns the wire name.
func (TargetSet) EventType() string { return TypeTargetSet }

// EventType returns the wire name.
func (StatisticReported) EventType() string { return TypeStatisticReported }

// EventType returns the wire name.
func (LoanPolicySet) EventType() string { return TypeLoanPolicySet }

// Stream names (aggregate ids).

// RegionStream names a region's stream.
func RegionStream(code string) string { return "region-" + code }

// FundStream names a fund's stream.
func FundStream(id string) string { return "fund-" + id }

// BeneficiaryStream names a beneficiary's stream.
func BeneficiaryStream(id string) string { return "beneficiary-" + id }

// ProgramStream names a program's stream.
func ProgramStream(id string) string { return "program-" + id }

// PaymentStream names a subsidy payment's stream (the payment and its reversals).
func PaymentStream(id string) string { return "payment-" + id }

// LoanStream names a loan's stream.
func LoanStream(id string) string { return "loan-" + id }

// PlacementStream names a placement's stream.
func PlacementStream(id string) string { return "placement-" + id }

// TrainingStream names a training's stream.
func TrainingStream(id string) string { return "training-" + id }

// TargetStream names the stream of one target's revisions.
func TargetStream(region string, year int, indicator Indicator, issuer Issuer) string {
	return "target-" + region + "-" + strconv.Itoa(year) + "-" + string(indicator) + "-" + string(issuer)
}

// StatisticStream names the stream of one reported figure.
func StatisticStream(region string, year int, indicator Indicator) string {
	return "statistic-" + region + "-" + strconv.Itoa(year) + "-" + string(indicator)
}

// LoanPolicyStream is the stream of loan policy versions.
const LoanPolicyStream = "policy-loan-caps"

// StreamID returns the region's stream.
func (e RegionDefined) StreamID() string { return RegionStream(e.Code) }

// StreamID returns the fund's stream.
func (e FundOpened) StreamID() string { return FundStream(e.FundID) }

// StreamID returns the fund's stream.
func (e FundAllocated) StreamID() string { return FundStream(e.FundID) }

// StreamID returns the beneficiary's stream.
func (e BeneficiaryRegistered) StreamID() string { return BeneficiaryStream(e.BeneficiaryID) }

// StreamID returns the beneficiary's stream.
func (e CategoryCertified) StreamID() string { return BeneficiaryStream(e.BeneficiaryID) }

// StreamID returns the program's stream.
func (e ProgramDefined) StreamID() string { return ProgramStream(e.ProgramID) }

// StreamID returns the payment's stream.
func (e SubsidyPaid) StreamID() string { return PaymentStream(e.PaymentID) }

// StreamID returns the original payment's stream.
func (e SubsidyReversed) StreamID() string { return PaymentStream(e.PaymentID) }

// StreamID returns the loan's stream.
func (e LoanIssued) StreamID() string { return LoanStream(e.LoanID) }

// StreamID returns the loan's stream.
func (e LoanRepaid) StreamID() string { return LoanStream(e.LoanID) }

// StreamID returns the loan's stream.
func (e InterestSubsidyPaid) StreamID() string { return LoanStream(e.LoanID) }

// StreamID returns the loan's stream.
func (e LoanDefaulted) StreamID() string { return LoanStream(e.LoanID) }

// StreamID returns the loan's stream.
func (e LoanCompensated) StreamID() string { return LoanStream(e.LoanID) }

// StreamID returns the loan's stream.
func (e LoanRecovered) StreamID() string { return LoanStream(e.LoanID) }

// StreamID returns the loan's stream.
func (e LoanWrittenOff) StreamID() string { return LoanStream(e.LoanID) }

// StreamID returns the loan's stream.
func (e LoanClosed) StreamID() string { return LoanStream(e.LoanID) }

// StreamID returns the placement's stream.
func (e PlacementRecorded) StreamID() string { return PlacementStream(e.PlacementID) }

// StreamID returns the placement's stream.
func (e PlacementEnded) StreamID() string { return PlacementStream(e.PlacementID) }

// StreamID returns the placement's stream.
func (e PlacementReversed) StreamID() string { return PlacementStream(e.PlacementID) }

// StreamID returns the training's stream.
func (e TrainingRecorded) StreamID() string { return TrainingStream(e.TrainingID) }

// StreamID returns the target's stream.
func (e TargetSet) StreamID() string {
	return TargetStream(e.RegionCode, e.Year, e.Indicator, e.Issuer)
}

// StreamID returns the statistic's stream.
func (e StatisticReported) StreamID() string {
	return StatisticStream(e.RegionCode, e.Year, e.Indicator)
}

// StreamID returns the loan policy stream.
func (e LoanPolicySet) StreamID() string { return LoanPolicyStream }

// BusinessDate returns the date the region was defined.
func (e RegionDefined) BusinessDate() Date { return e.Date }

// BusinessDate returns the date the fund was opened.
func (e FundOpened) BusinessDate() Date { return e.Date }

// BusinessDate returns the allocation date.
func (e FundAllocated) BusinessDate() Date { return e.Date }

// BusinessDate returns the registration date.
func (e BeneficiaryRegistered) BusinessDate() Date { return e.Date }

// BusinessDate returns the start of the certified period.
func (e CategoryCertified) BusinessDate() Date { return e.From }

// BusinessDate returns the start of the program's valid period.
func (e ProgramDefined) BusinessDate() Date { return e.ValidFrom }

// BusinessDate returns the payment date.
func (e SubsidyPaid) BusinessDate() Date { return e.Date }

// BusinessDate returns the reversal date.
func (e SubsidyReversed) BusinessDate() Date { return e.Date }

// BusinessDate returns the issue date.
func (e LoanIssued) BusinessDate() Date { return e.IssueDate }

// BusinessDate returns the repayment date.
func (e LoanRepaid) BusinessDate() Date { return e.Date }

// BusinessDate returns the end of the subsidised interest period.
func (e InterestSubsidyPaid) BusinessDate() Date { return e.PeriodEnd }

// BusinessDate returns the default date.
func (e LoanDefaulted) BusinessDate() Date { return e.Date }

// BusinessDate returns the compensation date.
func (e LoanCompensated) BusinessDate() Date { return e.Date }

// BusinessDate returns the recovery date.
func (e LoanRecovered) BusinessDate() Date { return e.Date }

// BusinessDate returns the write-off date.
func (e LoanWrittenOff) BusinessDate() Date { return e.Date }

// BusinessDate returns the closing date.
func (e LoanClosed) BusinessDate() Date { return e.Date }

// BusinessDate returns the placement date.
func (e PlacementRecorded) BusinessDate() Date { return e.Date }

// BusinessDate returns the date the job ended.
func (e PlacementEnded) BusinessDate() Date { return e.Date }

// BusinessDate returns the reversal date.
func (e PlacementReversed) BusinessDate() Date { return e.Date }

// BusinessDate returns the training date.
func (e TrainingRecorded) BusinessDate() Date { return e.Date }

// BusinessDate returns the date the target was set.
func (e TargetSet) BusinessDate() Date { return e.Date }

// BusinessDate returns the report date.
func (e StatisticReported) BusinessDate() Date { return e.Date }

// BusinessDate returns the date the policy takes effect.
func (e LoanPolicySet) BusinessDate() Date { return e.EffectiveFrom }
