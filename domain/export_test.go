package domain

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Snapshot renders the whole state canonically (sorted keys, decimals in their
// shortest form), so that tests can compare two ledgers for equality.
func Snapshot(l *Ledger) string {
	var b strings.Builder
	dump(&b, "region", &l.regions, func(r region) string {
		return fmt.Sprintf("%s|%s|%t|%t", r.name, r.parent, r.poorVillage, r.creditVillage)
	})
	dump(&b, "fund", &l.funds, func(f fund) string { return fmt.Sprintf("%s|%s|%s", f.kind, f.region, f.balance) })
	dump(&b, "beneficiary", &l.beneficiaries, func(x beneficiary) string {
		return fmt.Sprintf("%s|%s|%s", x.kind, x.region, periodsText(x.categories))
	})
	dump(&b, "program", &l.programs, func(p ProgramDefined) string {
		return fmt.Sprintf("%s|%s|%s|%s|%v|%d|%s|%s", p.SubsidyType, p.Name, p.AmountRule.Fixed, p.AmountRule.Max,
			p.EligibleCategories, p.LimitPerBeneficiary, p.ValidFrom, p.ValidTo)
	})
	dump(&b, "payment", &l.payments, func(p payment) string {
		return fmt.Sprintf("%s|%s|%s|%s|%s|%s", p.paid.ProgramID, p.paid.BeneficiaryID, p.paid.FundID, p.paid.Amount, p.paid.Date, p.reversed)
	})
	dumpBy(&b, "usage", &l.usage, func(k usageKey) string { return k.program + "/" + k.beneficiary },
		func(n int) string { return fmt.Sprint(n) })
	dump(&b, "loan", &l.loans, func(x loan) string {
		return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%t", x.issued.BorrowerID, x.issued.Principal, x.status, x.repaid,
			x.compensated, x.recovered, x.writtenOff, x.issued.PoorVillage)
	})
	dump(&b, "placement", &l.placements, func(p placement) string {
		return fmt.Sprintf("%s|%s|%v|%t|%t", p.recorded.BeneficiaryID, p.recorded.Date, p.recorded.Indicators, p.ended, p.reversed)
	})
	dump(&b, "training", &l.trainings, func(x TrainingRecorded) string { return fmt.Sprintf("%s|%s", x.BeneficiaryID, x.Date) })
	dumpBy(&b, "target", &l.targets, func(k targetKey) string { return fmt.Sprint(k) },
		func(x TargetSet) string { return fmt.Sprintf("%s|%s|%d", x.Value, x.Direction, x.Revision) })
	dumpBy(&b, "statistic", &l.statistics, func(k statisticKey) string { return fmt.Sprint(k) },
		func(x StatisticReported) string { return fmt.Sprintf("%s|%s", x.Value, x.Date) })
	dumpBy(&b, "policy", &l.policies, Date.String, func(p LoanPolicy) string {
		return fmt.Sprintf("%s|%s|%s|%s", p.IndividualMax, p.PartnershipMax, p.PartnerShare, p.EnterpriseMax)
	})
	dump(&b, "approval", &l.approvals, func(a approval) string {
		return fmt.Sprintf("%s|%s|%s|%t", a.requested.Maker, a.requested.CommandType, a.requested.Command, a.decided)
	})
	return b.String()
}

func periodsText(periods []CategoryPeriod) string {
	var parts []string
	for _, p := range periods {
		parts = append(parts, fmt.Sprintf("%s:%s:%s", p.Category, p.From, p.To))
	}
	return strings.Join(parts, ",")
}

func dump[V any](b *strings.Builder, name string, t *table[string, V], show func(V) string) {
	dumpBy(b, name, t, func(k string) string { return k }, show)
}

func dumpBy[K comparable, V any](b *strings.Builder, name string, t *table[K, V], key func(K) string, show func(V) string) {
	lines := make([]string, 0, len(t.rows))
	for _, k := range slices.Collect(maps.Keys(t.rows)) {
		lines = append(lines, name+" "+key(k)+" = "+show(t.rows[k]))
	}
	slices.SortFunc(lines, cmp.Compare[string])
	for _, line := range lines {
		b.WriteString(line)
		b.WriteByte('\n')
	}
}
