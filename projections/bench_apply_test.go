package projections

import (
	"fmt"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
)

// placementsOfOnePerson is how often BenchmarkPlaceOnePersonOften places its person.
const placementsOfOnePerson = 2000

// BenchmarkPlaceOnePersonOften places one person many times in one year
// across villages, after one reversed placement (so that every recount
// takes the general road): each new placement's recount looks at the
// person's earlier ones, which must stay cheap per placement.
func BenchmarkPlaceOnePersonOften(b *testing.B) {
	start := date("2018-01-01").Time()
	placed := 0
	for b.Loop() {
		s := newState()
		pos := uint64(0)
		apply := func(ev domain.Event) {
			pos++
			s.apply(envelope{Pos: pos, Type: ev.EventType(), Day: dayOf(ev.BusinessDate()), Business: true}, ev)
		}
		for _, r := range propRegions {
			apply(r)
		}
		first := placement("P0", "busy", "610902", "2018-01-01", domain.NewUrbanJobs)
		apply(first)
		apply(domain.PlacementReversed{PlacementID: "P0", BeneficiaryID: "busy", RegionCode: "610902",
			PlacementDate: first.Date, Indicators: first.Indicators, Date: date("2018-01-05")})
		for i := range placementsOfOnePerson {
			d := domain.DateOf(start.AddDate(0, 0, (i*37)%365))
			apply(placement(fmt.Sprint("P", i+1), "busy", propLeaves[i%len(propLeaves)], d.String(), domain.NewUrbanJobs))
		}
		placed += placementsOfOnePerson
	}
	b.ReportMetric(float64(b.Elapsed())/float64(placed), "ns/placement")
}
