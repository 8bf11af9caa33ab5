package projections

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hrss-ledger/ledger/domain"
)

// realisticLog generates a city's life over six years, command by command
// (one or two events each), mostly in business-date order as officers record
// it, with the proportions of the seeds: placements and registrations,
// subsidies, trainings, guaranteed loans through their whole lives (some
// defaulted, compensated, recovered, written off), targets and statistics.
// It calls emit for each command until n events are out.
type realisticLog struct {
	rng       *rand.Rand
	emit      func([]domain.Event)
	n, out    int
	day       int
	start     time.Time
	pending   map[int][][]domain.Event // day -> commands scheduled then
	leaves    []string
	poor      map[string]bool
	persons   []string
	personReg []string
	seq       int
}

const (
	genYears       = 6
	genCounties    = 10
	genVillages    = 20 // per county
	genLoanTermDay = 3 * 365
)

func generateLog(n int, seed uint64, emit func([]domain.Event)) {
	g := &realisticLog{rng: rand.New(rand.NewPCG(seed, 1)), emit: emit, n: n,
		start: time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), pending: map[int][][]domain.Event{}, poor: map[string]bool{}}
	g.setup()
	days := genYears * 365
	perDay := max(1, n/days)
	for g.day = 0; g.out < g.n; g.day++ {
		if g.day%365 == 0 {
			g.yearStart()
		}
		for _, cmd := range g.pending[g.day] {
			g.put(cmd...)
		}
		delete(g.pending, g.day)
		for range perDay {
			g.one()
		}
	}
}

func (g *realisticLog) date(offset int) domain.Date {
	return domain.DateOf(g.start.AddDate(0, 0, g.day+offset))
}

func (g *realisticLog) put(evs ...domain.Event) {
	if g.out >= g.n {
		return
	}
	g.out += len(evs)
	g.emit(evs)
}

func (g *realisticLog) later(days int, evs ...domain.Event) {
	g.pending[g.day+days] = append(g.pending[g.day+days], evs)
}

func (g *realisticLog) setup() {
	d := g.date(-1)
	g.put(domain.RegionDefined{Code: "610000", Name: "陕西省", Date: d})
	g.put(domain.RegionDefined{Code: "610900", Name: "安康市", ParentCode: "610000", Date: d})
	for c := range genCounties {
		county := fmt.Sprintf("6109%02d", 21+c)
		g.put(domain.RegionDefined{Code: county, Name: "县" + county, ParentCode: "610900", Date: d})
		for v := range genVillages {
			village := fmt.Sprintf("%s%03d%03d", county, 100+v/10, 200+v)
			g.poor[village] = v%4 == 0
			g.put(domain.RegionDefined{Code: village, Name: "村" + village, ParentCode: county, PoorVillage: v%4 == 0, Date: d})
			g.leaves = append(g.leaves, village)
		}
	}
	for _, f := range []struct {
		id   string
		kind domain.FundKind
	}{{"EMP", domain.FundEmploymentSubsidy}, {"GUA", domain.FundGuarantee}, {"RES", domain.FundBadDebtReserve}} {
		g.put(domain.FundOpened{FundID: f.id, Name: f.id, Kind: f.kind, RegionCode: "610900", Date: d})
	}
}

// yearStart allocates the year's budgets and sets the year's targets.
func (g *realisticLog) yearStart() {
	year := g.date(0).Year()
	for _, f := range []string{"EMP", "GUA", "RES"} {
		g.put(domain.FundAllocated{FundID: f, RegionCode: "610900", Amount: money("900000000"), Date: g.date(0), Document: fmt.Sprintf("安财社〔%d〕1号", year)})
	}
	for _, ind := range []domain.Indicator{domain.NewUrbanJobs, domain.LoansIssuedCount, domain.LoansIssuedAmount, domain.VocationalTrainings} {
		g.put(target("610900", year, ind, domain.Province, "16000", domain.Floor, g.date(0).String()))
		g.put(target("610900", year, ind, domain.City, "20000", domain.Floor, g.date(0).String()))
	}
	g.put(target("610900", year, domain.RegisteredUnemploymentRate, domain.Province, "3.9", domain.Ceiling, g.date(0).String()))
}

func (g *realisticLog) id(prefix string) string {
	g.seq++
	return fmt.Sprintf("%s%d", prefix, g.seq)
}

// one emits one command chosen by the seeds' proportions.
func (g *realisticLog) one() {
	switch k := g.rng.IntN(100); {
	case k < 15 || len(g.persons) < 100:
		g.register()
	case k < 45:
		g.placement()
	case k < 55:
		p := g.rng.IntN(len(g.persons))
		kind := domain.Vocational
		if g.rng.IntN(4) == 0 {
			kind = domain.Entrepreneurship
		}
		g.put(domain.TrainingRecorded{TrainingID: g.id("T"), BeneficiaryID: g.persons[p], CourseKind: kind, RegionCode: g.personReg[p], Date: g.jitter()})
	case k < 78:
		g.subsidy()
	case k < 83:
		g.loan()
	default:
		if g.rng.IntN(50) == 0 {
			g.put(domain.StatisticReported{RegionCode: "610900", Year: g.date(0).Year(), Indicator: domain.RegisteredUnemploymentRate,
				Value: money(fmt.Sprintf("3.%02d", g.rng.IntN(60))), Date: g.date(0)})
			return
		}
		g.placement()
	}
}

// jitter is today, or now and then a few days back (recorded late).
func (g *realisticLog) jitter() domain.Date {
	if g.rng.IntN(20) == 0 {
		return g.date(-1 - g.rng.IntN(10))
	}
	return g.date(0)
}

func (g *realisticLog) register() {
	id := g.id("B")
	region := g.leaves[g.rng.IntN(len(g.leaves))]
	g.persons = append(g.persons, id)
	g.personReg = append(g.personReg, region)
	g.put(domain.BeneficiaryRegistered{BeneficiaryID: id, Kind: domain.Person, RegionCode: region, Date: g.date(0),
		Categories: []domain.CategoryPeriod{{Category: domain.PovertyLabour, From: g.date(0)}}, Personal: []byte("sealed personal data")})
}

func (g *realisticLog) placement() {
	p := g.rng.IntN(len(g.persons))
	inds := []domain.Indicator{domain.NewUrbanJobs}
	if g.rng.IntN(3) == 0 {
		inds = append(inds, domain.ReemployedUnemployed)
	}
	if g.rng.IntN(5) == 0 {
		inds = append(inds, domain.HardToEmployPlaced)
	}
	e := domain.PlacementRecorded{PlacementID: g.id("P"), BeneficiaryID: g.persons[p], Kind: domain.UrbanJob,
		RegionCode: g.personReg[p], Date: g.jitter(), Employer: "社区工厂", Indicators: inds}
	g.put(e)
	switch g.rng.IntN(50) {
	case 0:
		g.later(30+g.rng.IntN(60), domain.PlacementReversed{PlacementID: e.PlacementID, BeneficiaryID: e.BeneficiaryID,
			RegionCode: e.RegionCode, PlacementDate: e.Date, Indicators: inds, Date: g.date(0), Reason: "recorded in error"})
	case 1, 2, 3, 4:
		g.later(90+g.rng.IntN(300), domain.PlacementEnded{PlacementID: e.PlacementID, Date: g.date(0), Reason: "contract ended"})
	}
}

func (g *realisticLog) subsidy() {
	p := g.rng.IntN(len(g.persons))
	e := domain.SubsidyPaid{PaymentID: g.id("S"), ProgramID: "STARTUP", SubsidyType: domain.OneTimeStartup,
		BeneficiaryID: g.persons[p], FundID: "EMP", RegionCode: g.personReg[p], Amount: money("5000"), Date: g.jitter(),
		Document: "安人社〔2017〕9号"}
	g.put(e)
	if g.rng.IntN(100) == 0 {
		g.later(20, domain.SubsidyReversed{PaymentID: e.PaymentID, ProgramID: e.ProgramID, BeneficiaryID: e.BeneficiaryID,
			FundID: e.FundID, RegionCode: e.RegionCode, Amount: e.Amount, Date: g.date(0), Reason: "ineligible"})
	}
}

// loan issues a loan and schedules its whole life.
func (g *realisticLog) loan() {
	p := g.rng.IntN(len(g.persons))
	principal := int64(50000 + 10000*g.rng.IntN(6))
	l := domain.LoanIssued{LoanID: g.id("L"), BorrowerID: g.persons[p], BorrowerKind: domain.Individual, Bank: "ABC",
		Principal: money(fmt.Sprint(principal)), AnnualRate: money("0.0435"), TermMonths: 36, IssueDate: g.date(0),
		GuaranteeFundID: "GUA", RegionCode: g.personReg[p], PoorVillage: g.poor[g.personReg[p]], JobsCreated: 1 + g.rng.IntN(4)}
	g.put(l)
	for q := 1; q <= 3; q++ {
		g.later(q*365-5, domain.InterestSubsidyPaid{LoanID: l.LoanID, FundID: "EMP", RegionCode: l.RegionCode,
			Amount: money("1500"), PeriodEnd: g.date(q*365 - 5)})
	}
	if g.rng.IntN(20) == 0 {
		lost := principal - principal/3
		g.later(365, domain.LoanRepaid{LoanID: l.LoanID, Bank: "ABC", Principal: money(fmt.Sprint(principal / 3)), Interest: money("2000"), Date: g.date(365)})
		g.later(500, domain.LoanDefaulted{LoanID: l.LoanID, Date: g.date(500)})
		g.later(530, domain.LoanCompensated{LoanID: l.LoanID, GuaranteeFundID: "GUA", Bank: "ABC", Amount: money(fmt.Sprint(lost)), Date: g.date(530)})
		g.later(620, domain.LoanRecovered{LoanID: l.LoanID, GuaranteeFundID: "GUA", Amount: money(fmt.Sprint(lost / 2)), Date: g.date(620)})
		g.later(800, domain.LoanWrittenOff{LoanID: l.LoanID, FundID: "RES", GuaranteeFundID: "GUA", Amount: money(fmt.Sprint(lost - lost/2)), Date: g.date(800), Document: "安财核〔2019〕5号"})
		return
	}
	for q := 1; q <= 3; q++ {
		g.later(q*365, domain.LoanRepaid{LoanID: l.LoanID, Bank: "ABC", Principal: money(fmt.Sprint(principal / 3)), Interest: money("2000"), Date: g.date(q * 365)})
	}
	g.later(genLoanTermDay+1, domain.LoanClosed{LoanID: l.LoanID, Date: g.date(genLoanTermDay + 1)})
}
