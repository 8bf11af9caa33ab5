package api

import (
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/hrss-ledger/ledger/api/vault"
	"github.com/hrss-ledger/ledger/domain"
)

// input is what a command builder sees of a request.
type input struct {
	r     *http.Request
	body  []byte
	today domain.Date // business date for commands whose body carries none
}

func (in input) decode(v any) error { return decodeStrict(in.body, v) }

// newID returns a fresh server-chosen id (UUIDv7: ordered by creation).
func newID() string { return uuid.Must(uuid.NewV7()).String() }

type regionBody struct {
	Code       string   `json:"code"`
	Name       string   `json:"name"`
	ParentCode string   `json:"parent_code"`
	Flags      []string `json:"flags"`
}

func buildRegion(in input) (domain.Command, error) {
	var b regionBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	cmd := domain.DefineRegion{Code: b.Code, Name: b.Name, ParentCode: b.ParentCode, Date: in.today}
	for _, f := range b.Flags {
		switch f {
		case "poor_village":
			cmd.PoorVillage = true
		case "credit_village":
			cmd.CreditVillage = true
		default:
			return nil, badRequest("flags", "each flag is poor_village or credit_village")
		}
	}
	return cmd, nil
}

type fundBody struct {
	FundID     string `json:"fund_id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	RegionCode string `json:"region_code"`
	Document   string `json:"document"`
}

func buildFund(in input) (domain.Command, error) {
	var b fundBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	return domain.OpenFund{FundID: b.FundID, Name: b.Name, Kind: domain.FundKind(b.Kind),
		RegionCode: b.RegionCode, Date: in.today, Document: b.Document}, nil
}

type allocationBody struct {
	Amount   *string `json:"amount"`
	Date     string  `json:"date"`
	Document string  `json:"document"`
}

func buildAllocation(in input) (domain.Command, error) {
	var b allocationBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	amount, d, err := amountOn(b.Amount, b.Date)
	if err != nil {
		return nil, err
	}
	return domain.AllocateFund{FundID: in.r.PathValue("fund_id"), Amount: amount, Date: d, Document: b.Document}, nil
}

type categoryBody struct {
	Category string `json:"category"`
	From     string `json:"from"`
	To       string `json:"to"`
	Document string `json:"document"`
}

func (c categoryBody) period(field string) (domain.CategoryPeriod, error) {
	from, err := date(field+".from", c.From)
	to, terr := date(field+".to", c.To)
	if err := firstErr(err, terr); err != nil {
		return domain.CategoryPeriod{}, err
	}
	return domain.CategoryPeriod{Category: domain.Category(c.Category), From: from, To: to, Document: c.Document}, nil
}

type beneficiaryBody struct {
	Kind       string         `json:"kind"`
	IDNumber   string         `json:"id_number"`
	CreditCode string         `json:"credit_code"`
	Name       string         `json:"name"`
	RegionCode string         `json:"region_code"`
	Categories []categoryBody `json:"categories"`
}

// personalFields is what is sealed with the person's key: never in the log in plain text.
type personalFields struct {
	Name       string `json:"name"`
	IDNumber   string `json:"id_number,omitempty"`
	CreditCode string `json:"credit_code,omitempty"`
}

func (s *Server) buildBeneficiary(in input) (domain.Command, error) {
	var b beneficiaryBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	if b.Name == "" {
		return nil, badRequest("name", "is required")
	}
	cmd := domain.RegisterBeneficiary{Kind: domain.BeneficiaryKind(b.Kind), IDNumber: b.IDNumber,
		CreditCode: b.CreditCode, RegionCode: b.RegionCode, Date: in.today}
	for i, c := range b.Categories {
		period, err := c.period("categories[" + itoa(i) + "]")
		if err != nil {
			return nil, err
		}
		cmd.Categories = append(cmd.Categories, period)
	}
	identity := domain.NormalizeIDNumber(b.IDNumber)
	if cmd.Kind == domain.BeneficiaryKind("enterprise") {
		identity = domain.NormalizeIDNumber(b.CreditCode)
	}
	if identity == "" {
		return cmd, nil // Decide names the missing field
	}
	cmd.BeneficiaryID = s.personal.Pseudonym(identity)
	sealed, err := s.personal.Seal(cmd.BeneficiaryID, mustJSON(personalFields{Name: b.Name, IDNumber: b.IDNumber, CreditCode: b.CreditCode}))
	if errors.Is(err, vault.ErrForgotten) {
		field := "id_number"
		if cmd.Kind == domain.BeneficiaryKind("enterprise") {
			field = "credit_code"
		}
		return nil, &Problem{Status: http.StatusConflict, Title: "Conflict", Field: field,
			Detail: "this beneficiary was forgotten (personal data erased) and cannot be registered again"}
	}
	if err != nil {
		return nil, err
	}
	cmd.Personal = sealed
	return cmd, nil
}

func buildCertification(in input) (domain.Command, error) {
	var b categoryBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	period, err := b.period("")
	if err != nil {
		return nil, err
	}
	return domain.CertifyCategory{BeneficiaryID: in.r.PathValue("beneficiary_id"), Category: period.Category,
		From: period.From, To: period.To, Document: b.Document}, nil
}

type amountRuleBody struct {
	Fixed *string `json:"fixed"`
	Max   *string `json:"max"`
}

type programBody struct {
	ProgramID           string         `json:"program_id"`
	SubsidyType         string         `json:"subsidy_type"`
	Name                string         `json:"name"`
	AmountRule          amountRuleBody `json:"amount_rule"`
	EligibleCategories  []string       `json:"eligible_categories"`
	LimitPerBeneficiary int            `json:"limit_per_beneficiary"`
	ValidFrom           string         `json:"valid_from"`
	ValidTo             string         `json:"valid_to"`
	Document            string         `json:"document"`
}

func buildProgram(in input) (domain.Command, error) {
	var b programBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	fixed, ferr := optionalMoney("amount_rule.fixed", b.AmountRule.Fixed)
	max, merr := optionalMoney("amount_rule.max", b.AmountRule.Max)
	from, fromErr := date("valid_from", b.ValidFrom)
	to, toErr := date("valid_to", b.ValidTo)
	if err := firstErr(ferr, merr, fromErr, toErr); err != nil {
		return nil, err
	}
	cmd := domain.DefineProgram{ProgramID: b.ProgramID, SubsidyType: domain.SubsidyType(b.SubsidyType), Name: b.Name,
		AmountRule: domain.AmountRule{Fixed: fixed, Max: max}, LimitPerBeneficiary: b.LimitPerBeneficiary,
		ValidFrom: from, ValidTo: to, Document: b.Document}
	for _, c := range b.EligibleCategories {
		cmd.EligibleCategories = append(cmd.EligibleCategories, domain.Category(c))
	}
	return cmd, nil
}

type subsidyBody struct {
	ProgramID     string  `json:"program_id"`
	BeneficiaryID string  `json:"beneficiary_id"`
	FundID        string  `json:"fund_id"`
	Amount        *string `json:"amount"`
	Date          string  `json:"date"`
	Document      string  `json:"document"`
}

func buildSubsidy(in input) (domain.Command, error) {
	var b subsidyBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	amount, d, err := amountOn(b.Amount, b.Date)
	if err != nil {
		return nil, err
	}
	return domain.PaySubsidy{PaymentID: newID(), ProgramID: b.ProgramID, BeneficiaryID: b.BeneficiaryID,
		FundID: b.FundID, Amount: amount, Date: d, Document: b.Document}, nil
}

type reversalBody struct {
	Reason   string  `json:"reason"`
	Date     string  `json:"date"`
	Amount   *string `json:"amount"`
	Document string  `json:"document"`
}

func buildSubsidyReversal(in input) (domain.Command, error) {
	var b reversalBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	amount, err := optionalMoney("amount", b.Amount)
	d, derr := date("date", b.Date)
	if err := firstErr(err, derr); err != nil {
		return nil, err
	}
	return domain.ReverseSubsidy{PaymentID: in.r.PathValue("payment_id"), Amount: amount, Date: d,
		Reason: b.Reason, Document: b.Document}, nil
}
