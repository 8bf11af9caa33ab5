package domain

import "github.com/shopspring/decimal"

// Posting is one double-entry movement: Amount leaves account From and enters
// account To. An account's balance is the sum of its postings in minus the
// sum of its postings out.
type Posting struct {
	From   string          `json:"from"`
	To     string          `json:"to"`
	Amount decimal.Decimal `json:"amount"`
}

// Account names.

// FundAccount is a fund's account; its balance is the fund's balance.
func FundAccount(id string) string { return "fund:" + id }

// BeneficiaryAccount is a beneficiary's account: subsidies received net of reversals.
func BeneficiaryAccount(id string) string { return "beneficiary:" + id }

// LoanAccount is a loan's account; its balance is the outstanding principal.
func LoanAccount(id string) string { return "loan:" + id }

// BankAccount is a lending bank's account (negative: what it has lent and not got back).
func BankAccount(name string) string { return "bank:" + name }

// BudgetAccount is the public budget of a region, the source of allocations.
func BudgetAccount(region string) string { return "budget:" + region }

// InterestAccount is a loan's interest account: interest subsidies in,
// interest paid to the bank out.
func InterestAccount(loanID string) string { return "interest:" + loanID }

// WriteOffAccount receives a loan's written-off principal (the loss).
func WriteOffAccount(loanID string) string { return "writeoff:" + loanID }

// Postings returns the double-entry postings of an event, nil for events that
// move no money. Each posting moves a positive amount between two different
// accounts, so every event balances and so does the whole log.
func Postings(e Event) []Posting {
	switch e := e.(type) {
	case FundAllocated:
		return one(BudgetAccount(e.RegionCode), FundAccount(e.FundID), e.Amount)
	case SubsidyPaid:
		return one(FundAccount(e.FundID), BeneficiaryAccount(e.BeneficiaryID), e.Amount)
	case SubsidyReversed:
		return one(BeneficiaryAccount(e.BeneficiaryID), FundAccount(e.FundID), e.Amount)
	case LoanIssued:
		return one(BankAccount(e.Bank), LoanAccount(e.LoanID), e.Principal)
	case LoanRepaid:
		return repaymentPostings(e)
	case InterestSubsidyPaid:
		return one(FundAccount(e.FundID), InterestAccount(e.LoanID), e.Amount)
	case LoanCompensated:
		return one(FundAccount(e.GuaranteeFundID), BankAccount(e.Bank), e.Amount)
	case LoanRecovered:
		return one(LoanAccount(e.LoanID), FundAccount(e.GuaranteeFundID), e.Amount)
	case LoanWrittenOff:
		return []Posting{
			{From: LoanAccount(e.LoanID), To: WriteOffAccount(e.LoanID), Amount: e.Amount},
			{From: FundAccount(e.FundID), To: FundAccount(e.GuaranteeFundID), Amount: e.Amount},
		}
	case RegionDefined, FundOpened, BeneficiaryRegistered, CategoryCertified, ProgramDefined,
		LoanDefaulted, LoanClosed, PlacementRecorded, PlacementEnded, PlacementReversed,
		TrainingRecorded, TargetSet, StatisticReported, LoanPolicySet, CheckpointRecorded,
		ApprovalRequested, ApprovalGranted, ApprovalRejected, ReadAudited:
		return nil
	default:
		panic(unknownEvent(e))
	}
}

func one(from, to string, amount decimal.Decimal) []Posting {
	return []Posting{{From: from, To: to, Amount: amount}}
}

// repaymentPostings leaves out a zero principal or zero interest leg.
func repaymentPostings(e LoanRepaid) []Posting {
	var postings []Posting
	if e.Principal.IsPositive() {
		postings = append(postings, Posting{From: LoanAccount(e.LoanID), To: BankAccount(e.Bank), Amount: e.Principal})
	}
	if e.Interest.IsPositive() {
		postings = append(postings, Posting{From: InterestAccount(e.LoanID), To: BankAccount(e.Bank), Amount: e.Interest})
	}
	return postings
}
