package domain_test

import (
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

func place(id, beneficiary string, kind domain.PlacementKind, date string) domain.RecordPlacement {
	return domain.RecordPlacement{PlacementID: id, BeneficiaryID: beneficiary, Kind: kind, RegionCode: "610902", Date: d(date)}
}

func placed(id, beneficiary string, kind domain.PlacementKind, date string, indicators ...domain.Indicator) []domain.Event {
	return []domain.Event{domain.PlacementRecorded{PlacementID: id, BeneficiaryID: beneficiary, Kind: kind, RegionCode: "610902",
		Date: d(date), Indicators: indicators}}
}

func TestPlacementIndicators(t *testing.T) {
	runCases(t, []ruleCase{
		{name: "an urban job of a hard-to-employ unemployed person counts three times", when: place("J1", "P3", domain.UrbanJob, "2017-05-01"),
			want: placed("J1", "P3", domain.UrbanJob, "2017-05-01", domain.NewUrbanJobs, domain.ReemployedUnemployed, domain.HardToEmployPlaced)},
		{name: "categories that expired before the placement date do not count", when: place("J1", "P3", domain.UrbanJob, "2018-01-01"),
			want: placed("J1", "P3", domain.UrbanJob, "2018-01-01", domain.NewUrbanJobs)},
		{name: "a rural transfer of a poor graduate counts for transfer, poverty transfer and graduates", when: place("J1", "P1", domain.RuralTransfer, "2017-05-01"),
			want: placed("J1", "P1", domain.RuralTransfer, "2017-05-01", domain.RuralLabourTransferred, domain.PovertyLabourTransferred, domain.GraduatesEmployed)},
		{name: "a public welfare post of an uncertified person counts once", when: place("J1", "P2", domain.PublicWelfareJob, "2017-05-01"),
			want: placed("J1", "P2", domain.PublicWelfareJob, "2017-05-01", domain.PublicWelfarePosts)},
		{name: "a community factory job of a hard-to-employ person counts twice", when: place("J1", "P3", domain.CommunityFactJob, "2017-05-01"),
			want: placed("J1", "P3", domain.CommunityFactJob, "2017-05-01", domain.HardToEmployPlaced, domain.CommunityFactoryJobs)},
		{name: "a startup counts as supported", when: place("J1", "P2", domain.StartupPlacement, "2017-05-01"),
			want: placed("J1", "P2", domain.StartupPlacement, "2017-05-01", domain.StartupsSupported)},
		{name: "an enterprise cannot be placed", when: place("J1", "E1", domain.UrbanJob, "2017-05-01"), rule: domain.ErrNotAPerson, field: "beneficiary_id"},
		{name: "an unknown placement kind is invalid", when: place("J1", "P2", "gig", "2017-05-01"), rule: domain.ErrUnknownValue, field: "kind"},
		{name: "a placement id used twice conflicts", given: []domain.Command{place("J1", "P2", domain.UrbanJob, "2017-05-01")},
			when: place("J1", "P3", domain.UrbanJob, "2017-05-01"), rule: domain.ErrDuplicateID, field: "placement_id"},
		{name: "a placement of an unknown person is not found", when: place("J1", "P9", domain.UrbanJob, "2017-05-01"), rule: domain.ErrBeneficiaryNotFound, field: "beneficiary_id"},
		{name: "a placement in an unknown region is not found", when: domain.RecordPlacement{PlacementID: "J1", BeneficiaryID: "P2", Kind: domain.UrbanJob, RegionCode: "610999", Date: d("2017-05-01")},
			rule: domain.ErrRegionNotFound, field: "region_code"},
	})
}

func TestPlacementEndAndReversalRules(t *testing.T) {
	job := place("J1", "P3", domain.UrbanJob, "2017-05-01")
	end := func(date string) domain.EndPlacement {
		return domain.EndPlacement{PlacementID: "J1", Date: d(date), Reason: "合同到期"}
	}
	reversal := domain.ReversePlacement{PlacementID: "J1", Date: d("2017-06-01"), Reason: "重复录入"}
	runCases(t, []ruleCase{
		{name: "a placement ends", given: []domain.Command{job}, when: end("2017-12-31")},
		{name: "a placement ends only once", given: []domain.Command{job, end("2017-12-31")}, when: end("2018-01-31"), rule: domain.ErrPlacementEnded, field: "placement_id"},
		{name: "a placement does not end before it began", given: []domain.Command{job}, when: end("2017-04-30"), rule: domain.ErrDateBeforeOriginal, field: "date"},
		{name: "an end without a reason is invalid", given: []domain.Command{job}, when: domain.EndPlacement{PlacementID: "J1", Date: d("2017-12-31")}, rule: domain.ErrRequired, field: "reason"},
		{name: "an unknown placement cannot end", when: end("2017-12-31"), rule: domain.ErrPlacementNotFound, field: "placement_id"},
		{name: "a reversal repeats what the placement counted for", given: []domain.Command{job}, when: reversal,
			want: []domain.Event{domain.PlacementReversed{PlacementID: "J1", BeneficiaryID: "P3", RegionCode: "610902", PlacementDate: d("2017-05-01"),
				Indicators: []domain.Indicator{domain.NewUrbanJobs, domain.ReemployedUnemployed, domain.HardToEmployPlaced}, Date: d("2017-06-01"), Reason: "重复录入"}}},
		{name: "an ended placement may still be reversed", given: []domain.Command{job, end("2017-05-31")}, when: reversal},
		{name: "a placement is reversed only once", given: []domain.Command{job, reversal}, when: reversal, rule: domain.ErrAlreadyReversed, field: "placement_id"},
		{name: "a reversed placement cannot end", given: []domain.Command{job, reversal}, when: end("2017-12-31"), rule: domain.ErrAlreadyReversed, field: "placement_id"},
	})
}

func TestTrainingRules(t *testing.T) {
	training := func(id, beneficiary string, kind domain.CourseKind) domain.RecordTraining {
		return domain.RecordTraining{TrainingID: id, BeneficiaryID: beneficiary, CourseKind: kind, RegionCode: "610902", Date: d("2017-09-01")}
	}
	runCases(t, []ruleCase{
		{name: "a vocational training is recorded", when: training("T1", "P1", domain.Vocational),
			want: []domain.Event{domain.TrainingRecorded{TrainingID: "T1", BeneficiaryID: "P1", CourseKind: domain.Vocational, RegionCode: "610902", Date: d("2017-09-01")}}},
		{name: "an unknown course kind is invalid", when: training("T1", "P1", "yoga"), rule: domain.ErrUnknownValue, field: "course_kind"},
		{name: "a training id used twice conflicts", given: []domain.Command{training("T1", "P1", domain.Vocational)}, when: training("T1", "P2", domain.Entrepreneurship),
			rule: domain.ErrDuplicateID, field: "training_id"},
		{name: "a training of an unknown person is not found", when: training("T1", "P9", domain.Vocational), rule: domain.ErrBeneficiaryNotFound, field: "beneficiary_id"},
		{name: "an enterprise is not trained", when: training("T1", "E1", domain.Vocational), rule: domain.ErrNotAPerson, field: "beneficiary_id"},
	})
}

func TestTargetAndStatisticRules(t *testing.T) {
	target := func(mutate func(*domain.SetTarget)) domain.SetTarget {
		c := domain.SetTarget{RegionCode: "610900", Year: 2017, Indicator: domain.NewUrbanJobs, Issuer: domain.Province,
			Value: yuan("16000"), Direction: domain.Floor, Date: d("2017-01-10")}
		if mutate != nil {
			mutate(&c)
		}
		return c
	}
	revised := domain.TargetSet{RegionCode: "610900", Year: 2017, Indicator: domain.NewUrbanJobs, Issuer: domain.Province,
		Value: yuan("17000"), Direction: domain.Floor, Revision: 2, Date: d("2017-01-10")}
	statistic := domain.ReportStatistic{RegionCode: "610900", Year: 2017, Indicator: domain.RegisteredUnemploymentRate, Value: yuan("3.20"), Date: d("2017-12-31")}
	runCases(t, []ruleCase{
		{name: "a first target is revision 1", when: target(nil),
			want: []domain.Event{domain.TargetSet{RegionCode: "610900", Year: 2017, Indicator: domain.NewUrbanJobs, Issuer: domain.Province,
				Value: yuan("16000"), Direction: domain.Floor, Revision: 1, Date: d("2017-01-10")}}},
		{name: "setting the same target again is a new revision", given: []domain.Command{target(nil)},
			when: target(func(c *domain.SetTarget) { c.Value = yuan("17000") }), want: []domain.Event{revised}},
		{name: "another issuer's target for the same indicator is a separate target", given: []domain.Command{target(nil)},
			when: target(func(c *domain.SetTarget) { c.Issuer, c.Value = domain.City, yuan("20000") })},
		{name: "a ceiling target is accepted", when: target(func(c *domain.SetTarget) {
			c.Indicator, c.Direction, c.Value = domain.RegisteredUnemploymentRate, domain.Ceiling, yuan("3.9")
		})},
		{name: "an unknown indicator is invalid", when: target(func(c *domain.SetTarget) { c.Indicator = "happiness" }), rule: domain.ErrUnknownValue, field: "indicator"},
		{name: "an unknown issuer is invalid", when: target(func(c *domain.SetTarget) { c.Issuer = "village" }), rule: domain.ErrUnknownValue, field: "issuer"},
		{name: "an unknown direction is invalid", when: target(func(c *domain.SetTarget) { c.Direction = "sideways" }), rule: domain.ErrUnknownValue, field: "direction"},
		{name: "a negative target is invalid", when: target(func(c *domain.SetTarget) { c.Value = yuan("-1") }), rule: domain.ErrNegative, field: "value"},
		{name: "a year out of range is invalid", when: target(func(c *domain.SetTarget) { c.Year = 1999 }), rule: domain.ErrYearRange, field: "year"},
		{name: "a target for an unknown region is not found", when: target(func(c *domain.SetTarget) { c.RegionCode = "610999" }), rule: domain.ErrRegionNotFound, field: "region_code"},
		{name: "a statistic is reported", when: statistic},
		{name: "a negative statistic is invalid", when: domain.ReportStatistic{RegionCode: "610900", Year: 2017, Indicator: domain.RegisteredUnemploymentRate, Value: yuan("-3"), Date: d("2017-12-31")},
			rule: domain.ErrNegative, field: "value"},
		{name: "a statistic without a date is invalid", when: domain.ReportStatistic{RegionCode: "610900", Year: 2017, Indicator: domain.RegisteredUnemploymentRate, Value: yuan("3")},
			rule: domain.ErrRequired, field: "date"},
	})
}

func TestLoanPolicyRules(t *testing.T) {
	policy := func(mutate func(*domain.LoanPolicy)) domain.SetLoanPolicy {
		p := domain.LoanPolicy{EffectiveFrom: d("2021-01-01"), IndividualMax: yuan("300000"), PartnershipMax: yuan("1000000"), EnterpriseMax: yuan("5000000")}
		if mutate != nil {
			mutate(&p)
		}
		return domain.SetLoanPolicy{LoanPolicy: p}
	}
	runCases(t, []ruleCase{
		{name: "a policy version is recorded", when: policy(nil)},
		{name: "a policy needs an effective date", when: policy(func(p *domain.LoanPolicy) { p.EffectiveFrom = domain.Date{} }), rule: domain.ErrRequired, field: "effective_from"},
		{name: "a policy sets the partnership cap one way only", when: policy(func(p *domain.LoanPolicy) { p.PartnerShare = yuan("1.1") }), rule: domain.ErrAmountRuleShape, field: "partnership_max"},
		{name: "a policy's partner share is bounded", when: policy(func(p *domain.LoanPolicy) { p.PartnershipMax, p.PartnerShare = yuan("0"), yuan("11") }),
			rule: domain.ErrRateRange, field: "partner_share"},
		{name: "a policy's individual cap must be positive", when: policy(func(p *domain.LoanPolicy) { p.IndividualMax = yuan("0") }), rule: domain.ErrAmountNotPositive, field: "individual_max"},
	})
}
