package projections

import (
	"fmt"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

// seedTree defines 陕西省 > 安康市 > two counties.
func seedTree(b *logBuilder) {
	for _, r := range []domain.RegionDefined{
		{Code: "610000", Name: "陕西省", Date: date("2016-01-01")},
		{Code: "610900", Name: "安康市", ParentCode: "610000", Date: date("2016-01-01")},
		{Code: "610902", Name: "汉滨区", ParentCode: "610900", Date: date("2016-01-01")},
		{Code: "610924", Name: "紫阳县", ParentCode: "610900", Date: date("2016-01-01")},
	} {
		b.events(r)
	}
}

func target(region string, year int, ind domain.Indicator, issuer domain.Issuer, value string, dir domain.Direction, d string) domain.TargetSet {
	return domain.TargetSet{RegionCode: region, Year: year, Indicator: ind, Issuer: issuer, Value: money(value),
		Direction: dir, Revision: 1, Date: date(d)}
}

func placement(id, person, region, d string, inds ...domain.Indicator) domain.PlacementRecorded {
	return domain.PlacementRecorded{PlacementID: id, BeneficiaryID: person, Kind: domain.UrbanJob, RegionCode: region,
		Date: date(d), Indicators: inds}
}

// entry finds one indicator entry of a report.
func findEntry(entries []domain.IndicatorProgress, ind domain.Indicator, issuer string) (domain.IndicatorProgress, bool) {
	for _, e := range entries {
		if e.Indicator == string(ind) && ((e.Issuer == nil && issuer == "") || (e.Issuer != nil && *e.Issuer == issuer)) {
			return e, true
		}
	}
	return domain.IndicatorProgress{}, false
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestSeedFigures(t *testing.T) {
	b := newLogBuilder(t)
	seedTree(b)
	b.events(target("610900", 2017, domain.NewUrbanJobs, domain.Province, "16000", domain.Floor, "2017-01-10"))
	b.events(target("610900", 2017, domain.NewUrbanJobs, domain.City, "20000", domain.Floor, "2017-01-10"))
	b.events(target("610900", 2017, domain.RegisteredUnemploymentRate, domain.Province, "3.9", domain.Ceiling, "2017-01-10"))
	counties := []string{"610902", "610924"}
	for i := range 20321 {
		d := fmt.Sprintf("2017-%02d-%02d", 1+i%12, 1+i%28)
		b.events(placement(fmt.Sprintf("P%d", i), fmt.Sprintf("person-%d", i), counties[i%2], d, domain.NewUrbanJobs))
	}
	b.events(domain.StatisticReported{RegionCode: "610900", Year: 2017, Indicator: domain.RegisteredUnemploymentRate,
		Value: money("3.20"), Date: date("2017-12-31")})
	p := project(t, b.store)
	rep, err := p.Progress("610900", 2017, "", "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                    string
		ind                     domain.Indicator
		issuer                  string
		actual, target, percent string
		onTrack                 bool
	}{
		{"the province's floor of 16000 is reached at 127.0%", domain.NewUrbanJobs, "province", "20321", "16000", "127.0", true},
		{"the city's own floor of 20000 is reached at 101.6%", domain.NewUrbanJobs, "city", "20321", "20000", "101.6", true},
		{"a ceiling of 3.9 with 3.20 reported is 121.9%", domain.RegisteredUnemploymentRate, "province", "3.20", "3.90", "121.9", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := findEntry(rep.Indicators, tt.ind, tt.issuer)
			if !ok {
				t.Fatalf("no entry for %s/%s in %+v", tt.ind, tt.issuer, rep.Indicators)
			}
			if e.Actual != tt.actual || deref(e.Target) != tt.target || deref(e.Percent) != tt.percent {
				t.Errorf("got actual %s target %s percent %s, want %s %s %s", e.Actual, deref(e.Target), deref(e.Percent),
					tt.actual, tt.target, tt.percent)
			}
			if e.OnTrack == nil || *e.OnTrack != tt.onTrack {
				t.Errorf("got on_track %v, want %v", e.OnTrack, tt.onTrack)
			}
		})
	}
	t.Run("the province counts the city's placements", func(t *testing.T) {
		prov, err := p.Progress("610000", 2017, "", "")
		if err != nil {
			t.Fatal(err)
		}
		e, _ := findEntry(prov.Indicators, domain.NewUrbanJobs, "")
		if e.Actual != "20321" || e.Issuer != nil || e.Target != nil || e.Percent != nil || e.OnTrack != nil {
			t.Errorf("got %+v, want actual 20321 with null issuer, target, percent and on_track", e)
		}
	})
	t.Run("the counties add up to the city", func(t *testing.T) {
		var sum int
		for _, c := range rep.Children {
			e, _ := findEntry(c.Indicators, domain.NewUrbanJobs, "")
			var n int
			fmt.Sscan(e.Actual, &n)
			sum += n
		}
		if sum != 20321 {
			t.Errorf("got %d over the children, want 20321", sum)
		}
	})
}
