package domain

import "slices"

func (l *Ledger) decideDefineRegion(c DefineRegion) (RegionDefined, *Error) {
	e := RegionDefined{Code: c.Code, Name: c.Name, ParentCode: c.ParentCode,
		PoorVillage: c.PoorVillage, CreditVillage: c.CreditVillage, Date: c.Date}
	if err := ValidateRegionCode(c.Code); err != nil {
		return e, fail(ErrRegionCodeFormat, "code", "%q", c.Code)
	}
	if err := first(text("name", c.Name, maxNameBytes), date("date", c.Date)); err != nil {
		return e, err
	}
	if l.regions.has(c.Code) {
		return e, fail(ErrDuplicateID, "code", "region %s", c.Code)
	}
	if c.ParentCode != "" {
		return e, l.existingRegion("parent_code", c.ParentCode)
	}
	return e, nil
}

func (l *Ledger) decideOpenFund(c OpenFund) (FundOpened, *Error) {
	e := FundOpened(c)
	err := first(checkID("fund_id", c.FundID), text("name", c.Name, maxNameBytes),
		oneOf("kind", c.Kind, FundKinds), date("date", c.Date), optionalText("document", c.Document, maxDocumentBytes))
	if err != nil {
		return e, err
	}
	if l.funds.has(c.FundID) {
		return e, fail(ErrDuplicateID, "fund_id", "fund %s", c.FundID)
	}
	return e, l.existingRegion("region_code", c.RegionCode)
}

func (l *Ledger) decideAllocateFund(c AllocateFund) (FundAllocated, *Error) {
	e := FundAllocated{FundID: c.FundID, Amount: c.Amount, Date: c.Date, Document: c.Document}
	f, err := l.existingFund("fund_id", c.FundID)
	if err != nil {
		return e, err
	}
	e.RegionCode = f.region
	return e, first(checkAmount("amount", c.Amount), date("date", c.Date), text("document", c.Document, maxDocumentBytes))
}

func (l *Ledger) decideRegisterBeneficiary(c RegisterBeneficiary) (BeneficiaryRegistered, *Error) {
	e := BeneficiaryRegistered{BeneficiaryID: c.BeneficiaryID, Kind: c.Kind, RegionCode: c.RegionCode,
		Categories: slices.Clone(c.Categories), Personal: slices.Clone(c.Personal), Date: c.Date}
	if err := first(checkID("beneficiary_id", c.BeneficiaryID), oneOf("kind", c.Kind, BeneficiaryKinds)); err != nil {
		return e, err
	}
	if err := checkNationalID(c); err != nil {
		return e, err
	}
	if l.beneficiaries.has(c.BeneficiaryID) {
		return e, fail(ErrBeneficiaryExists, "beneficiary_id", "%s", c.BeneficiaryID)
	}
	if len(c.Personal) > maxPersonalBytes {
		return e, fail(ErrTooLong, "personal", "at most %d bytes", maxPersonalBytes)
	}
	if err := first(l.existingRegion("region_code", c.RegionCode), date("date", c.Date)); err != nil {
		return e, err
	}
	return e, checkCategoryPeriods(c.Categories)
}

// checkNationalID validates the ID number of a person or the credit code of an enterprise.
func checkNationalID(c RegisterBeneficiary) *Error {
	if c.Kind == Person {
		if c.CreditCode != "" {
			return fail(ErrUnknownValue, "credit_code", "a person has an id_number, not a credit_code")
		}
		return asError(ValidateIDNumber(c.IDNumber))
	}
	if c.IDNumber != "" {
		return fail(ErrUnknownValue, "id_number", "an enterprise has a credit_code, not an id_number")
	}
	return asError(ValidateCreditCode(c.CreditCode))
}

// asError narrows an error from a validator (always nil or *Error) to *Error.
func asError(err error) *Error {
	if err == nil {
		return nil
	}
	return err.(*Error)
}

func checkCategoryPeriods(periods []CategoryPeriod) *Error {
	if len(periods) > maxCategoryPeriods {
		return fail(ErrTooLong, "categories", "at most %d", maxCategoryPeriods)
	}
	for _, p := range periods {
		err := first(oneOf("categories", p.Category, Categories), period("categories", "categories", p.From, p.To),
			optionalText("categories", p.Document, maxDocumentBytes))
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *Ledger) decideCertifyCategory(c CertifyCategory) (CategoryCertified, *Error) {
	e := CategoryCertified(c)
	if _, err := l.existingBeneficiary("beneficiary_id", c.BeneficiaryID); err != nil {
		return e, err
	}
	return e, first(oneOf("category", c.Category, Categories), period("from", "to", c.From, c.To),
		text("document", c.Document, maxDocumentBytes))
}

func (l *Ledger) decideDefineProgram(c DefineProgram) (ProgramDefined, *Error) {
	e := ProgramDefined(c)
	e.EligibleCategories = slices.Clone(c.EligibleCategories)
	err := first(checkID("program_id", c.ProgramID), oneOf("subsidy_type", c.SubsidyType, SubsidyTypes),
		text("name", c.Name, maxNameBytes), checkAmountRule(c.AmountRule), checkEligible(c.EligibleCategories),
		checkLimit(c.LimitPerBeneficiary), period("valid_from", "valid_to", c.ValidFrom, c.ValidTo),
		optionalText("document", c.Document, maxDocumentBytes))
	if err != nil {
		return e, err
	}
	if l.programs.has(c.ProgramID) {
		return e, fail(ErrDuplicateID, "program_id", "program %s", c.ProgramID)
	}
	return e, nil
}

// checkAmountRule requires exactly one of fixed and max, a positive amount.
func checkAmountRule(r AmountRule) *Error {
	if r.Fixed.IsZero() == r.Max.IsZero() {
		return fail(ErrAmountRuleShape, "amount_rule", "")
	}
	if r.Fixed.IsZero() {
		return checkAmount("amount_rule", r.Max)
	}
	return checkAmount("amount_rule", r.Fixed)
}

func checkEligible(categories []Category) *Error {
	if len(categories) > maxEligible {
		return fail(ErrTooLong, "eligible_categories", "at most %d", maxEligible)
	}
	for _, c := range categories {
		if err := oneOf("eligible_categories", c, Categories); err != nil {
			return err
		}
	}
	return nil
}

func checkLimit(n int) *Error {
	if n < 0 {
		return fail(ErrNegative, "limit_per_beneficiary", "%d", n)
	}
	if n > maxLimitPerPerson {
		return fail(ErrTooLong, "limit_per_beneficiary", "at most %d", maxLimitPerPerson)
	}
	return nil
}

func (l *Ledger) decidePaySubsidy(c PaySubsidy) (SubsidyPaid, *Error) {
	e := SubsidyPaid{PaymentID: c.PaymentID, ProgramID: c.ProgramID, BeneficiaryID: c.BeneficiaryID,
		FundID: c.FundID, Amount: c.Amount, Date: c.Date, Document: c.Document}
	err := first(checkID("payment_id", c.PaymentID), checkID("program_id", c.ProgramID),
		checkAmount("amount", c.Amount), date("date", c.Date), text("document", c.Document, maxDocumentBytes))
	if err != nil {
		return e, err
	}
	if l.payments.has(idKeyOf(c.PaymentID)) {
		return e, fail(ErrDuplicateID, "payment_id", "payment %s", c.PaymentID)
	}
	program, ok := l.programs.get(c.ProgramID)
	if !ok {
		return e, fail(ErrProgramNotFound, "program_id", "%s", c.ProgramID)
	}
	b, err := l.existingBeneficiary("beneficiary_id", c.BeneficiaryID)
	if err != nil {
		return e, err
	}
	f, err := l.existingFund("fund_id", c.FundID)
	if err != nil {
		return e, err
	}
	e.SubsidyType, e.RegionCode = program.SubsidyType, b.region
	return e, first(fundKind("fund_id", f, fundKindFor(program.SubsidyType)), l.programAllows(program, b, c),
		covers("amount", f, c.Amount))
}

// programAllows applies the program's rules: period, amount, eligibility, limit.
func (l *Ledger) programAllows(p ProgramDefined, b beneficiary, c PaySubsidy) *Error {
	if !c.Date.within(p.ValidFrom, p.ValidTo) {
		return fail(ErrProgramPeriod, "date", "%s is outside %s..%s", c.Date, p.ValidFrom, p.ValidTo)
	}
	if p.AmountRule.Fixed.IsPositive() && !c.Amount.Equal(p.AmountRule.Fixed) {
		return fail(ErrAmountRule, "amount", "the program pays exactly %s", p.AmountRule.Fixed)
	}
	if p.AmountRule.Max.IsPositive() && c.Amount.GreaterThan(p.AmountRule.Max) {
		return fail(ErrAmountRule, "amount", "the program pays at most %s", p.AmountRule.Max)
	}
	if !eligible(p.EligibleCategories, b, c.Date) {
		return fail(ErrNotEligible, "beneficiary_id", "needs one of %v on %s", p.EligibleCategories, c.Date)
	}
	used := l.used(p.ProgramID, c.BeneficiaryID)
	if p.LimitPerBeneficiary > 0 && used >= p.LimitPerBeneficiary {
		return fail(ErrBeneficiaryLimit, "beneficiary_id", "%d of %d payments used", used, p.LimitPerBeneficiary)
	}
	return nil
}

// used returns how many payments not fully reversed a beneficiary has had
// under a program. It interns nothing: Decide does not change the state.
func (l *Ledger) used(program, beneficiary string) int {
	programSymbol, ok := l.names.lookup(program)
	if !ok {
		return 0
	}
	beneficiarySymbol, ok := l.names.lookup(beneficiary)
	if !ok {
		return 0
	}
	n, _ := l.usage.get(usageKey{programSymbol, beneficiarySymbol})
	return n
}

// eligible reports whether b holds one of categories on d; no categories means anyone.
func eligible(categories []Category, b beneficiary, d Date) bool {
	if len(categories) == 0 {
		return true
	}
	for _, c := range categories {
		if b.holds(c, d) {
			return true
		}
	}
	return false
}

func (l *Ledger) decideReverseSubsidy(c ReverseSubsidy) (SubsidyReversed, *Error) {
	e := SubsidyReversed{PaymentID: c.PaymentID, Amount: c.Amount, Date: c.Date, Reason: c.Reason, Document: c.Document}
	err := first(checkID("payment_id", c.PaymentID), checkAmountOrZero("amount", c.Amount), date("date", c.Date),
		text("reason", c.Reason, maxReasonBytes), optionalText("document", c.Document, maxDocumentBytes))
	if err != nil {
		return e, err
	}
	p, ok := l.payments.get(idKeyOf(c.PaymentID))
	if !ok {
		return e, fail(ErrPaymentNotFound, "payment_id", "%s", c.PaymentID)
	}
	e.ProgramID, e.BeneficiaryID = l.names.name(p.program), l.names.name(p.beneficiary)
	e.FundID, e.RegionCode = l.names.name(p.fund), l.names.name(p.region)
	left := p.remaining().decimal()
	if left.IsZero() {
		return e, fail(ErrAlreadyReversed, "payment_id", "%s", c.PaymentID)
	}
	if c.Amount.IsZero() {
		e.Amount = left
	}
	if e.Amount.GreaterThan(left) {
		return e, fail(ErrReversalExceedsPaid, "amount", "%s left of %s paid", left, p.amount.decimal())
	}
	return e, notBefore("date", c.Date, p.date)
}
