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
	name := l.names.name
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
	dumpRows(&b, "payment", &l.payments, func(p payment) string {
		return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s", name(p.program), name(p.beneficiary), name(p.fund), name(p.region),
			p.amount.decimal(), p.date, p.reversed.decimal())
	})
	dumpBy(&b, "usage", &l.usage, func(k usageKey) string { return name(k.program) + "/" + name(k.beneficiary) },
		func(n int) string { return fmt.Sprint(n) })
	dump(&b, "loan", &l.loans, func(x loan) string {
		return fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%t", name(x.borrower), name(x.bank), name(x.region),
			name(x.guaranteeFund), x.issueDate, x.principal.decimal(), x.status, x.repaid.decimal(),
			x.compensated.decimal(), x.recovered.decimal(), x.writtenOff.decimal(), x.poorVillage)
	})
	dumpRows(&b, "placement", &l.placements, func(p placement) string {
		indicators := l.indicatorSets.list(p.indicators)
		return fmt.Sprintf("%s|%s|%s|%v|%t|%t|%t", name(p.beneficiary), name(p.region), p.date, indicators, indicators == nil,
			p.ended, p.reversed)
	})
	dumpRows(&b, "training", &l.trainings, func(x training) string { return fmt.Sprintf("%s|%s", name(x.beneficiary), x.date) })
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

func periodsText(periods []categoryPeriod) string {
	var parts []string
	for _, p := range periods {
		parts = append(parts, fmt.Sprintf("%s:%s:%s", p.category, p.from, p.to))
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

// DecodeJSON decodes with encoding/json alone, as Decode did before its fast path.
func DecodeJSON(eventType string, data []byte) (Event, error) {
	decode, ok := decoders[eventType]
	if !ok {
		return nil, fmt.Errorf("unknown event type %q", eventType)
	}
	return decode(data)
}

// DecodeFast decodes with the fast path alone; ok is false where it gives up.
func DecodeFast(eventType string, data []byte) (e Event, ok bool) {
	fast, known := fastDecoders[eventType]
	if !known {
		return nil, false
	}
	return fast(data, nil)
}

// FastDecodedTypes lists the wire names that have a fast decoder.
func FastDecodedTypes() []string { return slices.Sorted(maps.Keys(fastDecoders)) }

// dumpRows is dumpBy for a rowTable, its keys in hex.
func dumpRows[V any](b *strings.Builder, name string, t *rowTable[V], show func(V) string) {
	t.ascend(func(k idKey, v V) {
		fmt.Fprintf(b, "%s %x = %s\n", name, k[:], show(v))
	})
}

// BinaryTypes returns the zero value of each type with a binary form of its own.
func BinaryTypes() []Event {
	var out []Event
	for _, t := range binaryTypes {
		out = append(out, t.zero)
	}
	return out
}
