package api

import (
	"github.com/hrss-ledger/ledger/domain"
)

type loanBody struct {
	LoanID                 string   `json:"loan_id"`
	BorrowerID             string   `json:"borrower_id"`
	BorrowerKind           string   `json:"borrower_kind"`
	Partners               []string `json:"partners"`
	Bank                   string   `json:"bank"`
	Principal              *string  `json:"principal"`
	AnnualRate             *string  `json:"annual_rate"`
	TermMonths             int      `json:"term_months"`
	IssueDate              string   `json:"issue_date"`
	GuaranteeFundID        string   `json:"guarantee_fund_id"`
	RegionCode             string   `json:"region_code"`
	CounterGuaranteeWaived bool     `json:"counter_guarantee_waived"`
	JobsCreated            int      `json:"jobs_created"`
	Document               string   `json:"document"`
}

func buildLoan(in input) (domain.Command, error) {
	var b loanBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	principal, perr := money("principal", b.Principal)
	annualRate, rerr := rate("annual_rate", b.AnnualRate)
	issued, derr := date("issue_date", b.IssueDate)
	if err := firstErr(perr, rerr, derr); err != nil {
		return nil, err
	}
	return domain.IssueLoan{LoanID: b.LoanID, BorrowerID: b.BorrowerID, BorrowerKind: domain.BorrowerKind(b.BorrowerKind),
		Partners: b.Partners, Bank: b.Bank, Principal: principal, AnnualRate: annualRate, TermMonths: b.TermMonths,
		IssueDate: issued, GuaranteeFundID: b.GuaranteeFundID, RegionCode: b.RegionCode,
		CounterGuaranteeWaived: b.CounterGuaranteeWaived, JobsCreated: b.JobsCreated, Document: b.Document}, nil
}

type repaymentBody struct {
	Principal *string `json:"principal"`
	Interest  *string `json:"interest"`
	Date      string  `json:"date"`
}

func buildRepayment(in input) (domain.Command, error) {
	var b repaymentBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	principal, perr := money("principal", b.Principal)
	interest, ierr := optionalMoney("interest", b.Interest)
	d, derr := date("date", b.Date)
	if err := firstErr(perr, ierr, derr); err != nil {
		return nil, err
	}
	return domain.RepayLoan{LoanID: in.r.PathValue("loan_id"), Principal: principal, Interest: interest, Date: d}, nil
}

type interestSubsidyBody struct {
	Amount    *string `json:"amount"`
	FundID    string  `json:"fund_id"`
	PeriodEnd string  `json:"period_end"`
	Document  string  `json:"document"`
}

func buildInterestSubsidy(in input) (domain.Command, error) {
	var b interestSubsidyBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	amount, err := money("amount", b.Amount)
	periodEnd, derr := date("period_end", b.PeriodEnd)
	if err := firstErr(err, derr); err != nil {
		return nil, err
	}
	return domain.PayInterestSubsidy{LoanID: in.r.PathValue("loan_id"), Amount: amount, FundID: b.FundID,
		PeriodEnd: periodEnd, Document: b.Document}, nil
}

type defaultBody struct {
	Date   string `json:"date"`
	Reason string `json:"reason"`
}

func buildDefault(in input) (domain.Command, error) {
	var b defaultBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	d, err := date("date", b.Date)
	if err != nil {
		return nil, err
	}
	return domain.DeclareDefault{LoanID: in.r.PathValue("loan_id"), Date: d, Reason: b.Reason}, nil
}

type loanAmountBody struct {
	Amount   *string `json:"amount"`
	Date     string  `json:"date"`
	FundID   string  `json:"fund_id"`
	Document string  `json:"document"`
}

func (in input) loanAmount() (loanAmountBody, domain.Money, domain.Date, error) {
	var b loanAmountBody
	if err := in.decode(&b); err != nil {
		return b, domain.Money{}, domain.Date{}, err
	}
	amount, d, err := amountOn(b.Amount, b.Date)
	return b, amount, d, err
}

func buildCompensation(in input) (domain.Command, error) {
	b, amount, d, err := in.loanAmount()
	if err != nil {
		return nil, err
	}
	if b.FundID != "" {
		return nil, badRequest("fund_id", "a compensation is paid by the loan's guarantee fund; do not name a fund")
	}
	return domain.CompensateLoan{LoanID: in.r.PathValue("loan_id"), Amount: amount, Date: d, Document: b.Document}, nil
}

func buildRecovery(in input) (domain.Command, error) {
	b, amount, d, err := in.loanAmount()
	if err != nil {
		return nil, err
	}
	if b.FundID != "" || b.Document != "" {
		return nil, badRequest("fund_id", "a recovery takes amount and date only")
	}
	return domain.RecoverLoan{LoanID: in.r.PathValue("loan_id"), Amount: amount, Date: d}, nil
}

func buildWriteOff(in input) (domain.Command, error) {
	b, amount, d, err := in.loanAmount()
	if err != nil {
		return nil, err
	}
	return domain.WriteOffLoan{LoanID: in.r.PathValue("loan_id"), Amount: amount, FundID: b.FundID, Date: d, Document: b.Document}, nil
}

type closeBody struct {
	Date string `json:"date"`
}

func buildClose(in input) (domain.Command, error) {
	var b closeBody
	if err := in.decode(&b); err != nil {
		return nil, err
	}
	d, err := date("date", b.Date)
	if err != nil {
		return nil, err
	}
	return domain.CloseLoan{LoanID: in.r.PathValue("loan_id"), Date: d}, nil
}
