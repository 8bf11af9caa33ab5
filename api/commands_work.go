package api

import (
	"encoding/json"
	"strconv"

	"github.com/hrss-ledger/ledger/domain"
)

type placementBody struct {
	PlacementID   string `json:"placement_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	Kind          string `json:"kind"`
	RegionCode    string `json:"region_code"`
	Date          string `json:"date"`
	Employer      string `json:"employer"`
}

func buildPlacement(in input) (domain.Command, error) {
	var b placementBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	d, err := date("date", b.Date)
	if err != nil {
		return nil, err
	}
	return domain.RecordPlacement{PlacementID: b.PlacementID, BeneficiaryID: b.BeneficiaryID,
		Kind: domain.PlacementKind(b.Kind), RegionCode: b.RegionCode, Date: d, Employer: b.Employer}, nil
}

type placementChangeBody struct {
	Date   string `json:"date"`
	Reason string `json:"reason"`
}

func (in input) placementChange() (domain.Date, string, error) {
	var b placementChangeBody
	if err := in.decode(&b); err != nil {
		return domain.Date{}, "", err
	}
	d, err := date("date", b.Date)
	return d, b.Reason, err
}

func buildPlacementEnd(in input) (domain.Command, error) {
	d, reason, err := in.placementChange()
	if err != nil {
		return nil, err
	}
	return domain.EndPlacement{PlacementID: in.r.PathValue("placement_id"), Date: d, Reason: reason}, nil
}

func buildPlacementReversal(in input) (domain.Command, error) {
	d, reason, err := in.placementChange()
	if err != nil {
		return nil, err
	}
	return domain.ReversePlacement{PlacementID: in.r.PathValue("placement_id"), Date: d, Reason: reason}, nil
}

type trainingBody struct {
	TrainingID    string `json:"training_id"`
	BeneficiaryID string `json:"beneficiary_id"`
	CourseKind    string `json:"course_kind"`
	RegionCode    string `json:"region_code"`
	Date          string `json:"date"`
}

func buildTraining(in input) (domain.Command, error) {
	var b trainingBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	d, err := date("date", b.Date)
	if err != nil {
		return nil, err
	}
	return domain.RecordTraining{TrainingID: b.TrainingID, BeneficiaryID: b.BeneficiaryID,
		CourseKind: domain.CourseKind(b.CourseKind), RegionCode: b.RegionCode, Date: d}, nil
}

type targetBody struct {
	RegionCode string          `json:"region_code"`
	Year       int             `json:"year"`
	Indicator  string          `json:"indicator"`
	Issuer     string          `json:"issuer"`
	Value      json.RawMessage `json:"value"`
	Direction  string          `json:"direction"`
	Document   string          `json:"document"`
}

func buildTarget(in input) (domain.Command, error) {
	var b targetBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	value, err := figure("value", b.Value)
	if err != nil {
		return nil, err
	}
	return domain.SetTarget{RegionCode: b.RegionCode, Year: b.Year, Indicator: domain.Indicator(b.Indicator),
		Issuer: domain.Issuer(b.Issuer), Value: value, Direction: domain.Direction(b.Direction),
		Date: in.today, Document: b.Document}, nil
}

type statisticBody struct {
	RegionCode string          `json:"region_code"`
	Year       int             `json:"year"`
	Indicator  string          `json:"indicator"`
	Value      json.RawMessage `json:"value"`
	Date       string          `json:"date"`
	Document   string          `json:"document"`
}

func buildStatistic(in input) (domain.Command, error) {
	var b statisticBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	value, err := figure("value", b.Value)
	d, derr := date("date", b.Date)
	if err := firstErr(err, derr); err != nil {
		return nil, err
	}
	return domain.ReportStatistic{RegionCode: b.RegionCode, Year: b.Year, Indicator: domain.Indicator(b.Indicator),
		Value: value, Date: d, Document: b.Document}, nil
}

// figure reads a target or statistic value: a count (20000), a sum ("4.56e8"
// is refused: "456000000") or a rate ("3.9"), given as a JSON number or a
// decimal string.
func figure(field string, raw json.RawMessage) (domain.Money, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return domain.Money{}, badRequest(field, "is required")
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return domain.Money{}, badRequest(field, "must be a number or a decimal string")
		}
	} else {
		s = string(raw)
	}
	return rate(field, &s)
}

func itoa(i int) string { return strconv.Itoa(i) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("api: marshal " + err.Error())
	}
	return b
}
