package domain

import "github.com/shopspring/decimal"

// person returns an existing beneficiary who is a person.
func (l *Ledger) person(field, id string) (beneficiary, *Error) {
	b, err := l.existingBeneficiary(field, id)
	if err != nil {
		return b, err
	}
	if b.kind != Person {
		return b, fail(ErrNotAPerson, field, "%s is an enterprise", id)
	}
	return b, nil
}

func (l *Ledger) decideRecordPlacement(c RecordPlacement) (PlacementRecorded, *Error) {
	e := PlacementRecorded{PlacementID: c.PlacementID, BeneficiaryID: c.BeneficiaryID, Kind: c.Kind,
		RegionCode: c.RegionCode, Date: c.Date, Employer: c.Employer}
	err := first(checkID("placement_id", c.PlacementID), oneOf("kind", c.Kind, PlacementKinds), date("date", c.Date),
		optionalText("employer", c.Employer, maxNameBytes))
	if err != nil {
		return e, err
	}
	if l.placements.has(idKeyOf(c.PlacementID)) {
		return e, fail(ErrDuplicateID, "placement_id", "placement %s", c.PlacementID)
	}
	b, err := l.person("beneficiary_id", c.BeneficiaryID)
	if err != nil {
		return e, err
	}
	if err := l.existingRegion("region_code", c.RegionCode); err != nil {
		return e, err
	}
	e.Indicators = PlacementIndicators(c.Kind, func(cat Category) bool { return b.holds(cat, c.Date) })
	return e, nil
}

// livePlacement returns a known placement that has not been reversed.
func (l *Ledger) livePlacement(id string) (placement, *Error) {
	if err := checkID("placement_id", id); err != nil {
		return placement{}, err
	}
	p, ok := l.placements.get(idKeyOf(id))
	if !ok {
		return p, fail(ErrPlacementNotFound, "placement_id", "%s", id)
	}
	if p.reversed {
		return p, fail(ErrAlreadyReversed, "placement_id", "placement %s", id)
	}
	return p, nil
}

func (l *Ledger) decideEndPlacement(c EndPlacement) (PlacementEnded, *Error) {
	e := PlacementEnded(c)
	p, err := l.livePlacement(c.PlacementID)
	if err != nil {
		return e, err
	}
	if p.ended {
		return e, fail(ErrPlacementEnded, "placement_id", "placement %s", c.PlacementID)
	}
	return e, first(date("date", c.Date), text("reason", c.Reason, maxReasonBytes),
		notBefore("date", c.Date, p.date))
}

func (l *Ledger) decideReversePlacement(c ReversePlacement) (PlacementReversed, *Error) {
	e := PlacementReversed{PlacementID: c.PlacementID, Date: c.Date, Reason: c.Reason}
	p, err := l.livePlacement(c.PlacementID)
	if err != nil {
		return e, err
	}
	e.BeneficiaryID, e.RegionCode = l.names.name(p.beneficiary), l.names.name(p.region)
	e.PlacementDate, e.Indicators = p.date, l.indicatorSets.list(p.indicators)
	return e, first(date("date", c.Date), text("reason", c.Reason, maxReasonBytes),
		notBefore("date", c.Date, p.date))
}

func (l *Ledger) decideRecordTraining(c RecordTraining) (TrainingRecorded, *Error) {
	e := TrainingRecorded(c)
	err := first(checkID("training_id", c.TrainingID), oneOf("course_kind", c.CourseKind, CourseKinds), date("date", c.Date))
	if err != nil {
		return e, err
	}
	if l.trainings.has(idKeyOf(c.TrainingID)) {
		return e, fail(ErrDuplicateID, "training_id", "training %s", c.TrainingID)
	}
	if _, err := l.person("beneficiary_id", c.BeneficiaryID); err != nil {
		return e, err
	}
	return e, l.existingRegion("region_code", c.RegionCode)
}

// checkFigure refuses a negative or missing target or statistic value.
func checkFigure(field string, v decimal.Decimal) *Error {
	if v.IsNegative() {
		return fail(ErrNegative, field, "%s", v)
	}
	return nil
}

func checkYear(year int) *Error {
	if year < minTargetYear || year > maxTargetYear {
		return fail(ErrYearRange, "year", "%d is not in %d..%d", year, minTargetYear, maxTargetYear)
	}
	return nil
}

func (l *Ledger) decideSetTarget(c SetTarget) (TargetSet, *Error) {
	e := TargetSet{RegionCode: c.RegionCode, Year: c.Year, Indicator: c.Indicator, Issuer: c.Issuer,
		Value: c.Value, Direction: c.Direction, Date: c.Date, Document: c.Document, Revision: 1}
	err := first(checkYear(c.Year), oneOf("indicator", c.Indicator, Indicators), oneOf("issuer", c.Issuer, Issuers),
		oneOf("direction", c.Direction, Directions), checkFigure("value", c.Value), date("date", c.Date),
		optionalText("document", c.Document, maxDocumentBytes))
	if err != nil {
		return e, err
	}
	if err := l.existingRegion("region_code", c.RegionCode); err != nil {
		return e, err
	}
	if previous, ok := l.targets.get(targetKey{c.RegionCode, c.Year, c.Indicator, c.Issuer}); ok {
		e.Revision = previous.Revision + 1
	}
	return e, nil
}

func (l *Ledger) decideReportStatistic(c ReportStatistic) (StatisticReported, *Error) {
	e := StatisticReported(c)
	err := first(checkYear(c.Year), oneOf("indicator", c.Indicator, Indicators), checkFigure("value", c.Value),
		date("date", c.Date), optionalText("document", c.Document, maxDocumentBytes))
	if err != nil {
		return e, err
	}
	return e, l.existingRegion("region_code", c.RegionCode)
}

func (l *Ledger) decideSetLoanPolicy(c SetLoanPolicy) (LoanPolicySet, *Error) {
	e := LoanPolicySet(c)
	p := c.LoanPolicy
	err := first(date("effective_from", p.EffectiveFrom), checkAmount("individual_max", p.IndividualMax),
		checkAmount("enterprise_max", p.EnterpriseMax), checkPartnershipRule(p),
		optionalText("document", p.Document, maxDocumentBytes))
	return e, err
}

// checkPartnershipRule requires exactly one of a fixed partnership cap and a partner share.
func checkPartnershipRule(p LoanPolicy) *Error {
	if p.PartnershipMax.IsZero() == p.PartnerShare.IsZero() {
		return fail(ErrAmountRuleShape, "partnership_max", "set partnership_max or partner_share")
	}
	if p.PartnerShare.IsZero() {
		return checkAmount("partnership_max", p.PartnershipMax)
	}
	if !p.PartnerShare.IsPositive() || p.PartnerShare.GreaterThan(maxPartnerShare) {
		return fail(ErrRateRange, "partner_share", "%s is not in (0, %s]", p.PartnerShare, maxPartnerShare)
	}
	return nil
}
