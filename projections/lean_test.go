package projections

import (
	"reflect"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore"
)

func TestDecodeRead(t *testing.T) {
	t.Run("events no view reads are not decoded, whatever their data", func(t *testing.T) {
		for _, typ := range []string{domain.TypeBeneficiaryRegistered, domain.TypeCheckpointRecorded, domain.TypeApprovalGranted} {
			if got, err := decodeRead(typ, []byte("not json"), nil); got != nil || err != nil {
				t.Errorf("%s: got %v, %v, want nothing", typ, got, err)
			}
		}
	})
	t.Run("every event of a realistic log decodes through a worker's shared values as domain.Decode decodes it", func(t *testing.T) {
		syms := domain.NewSymbols()
		check := func(e domain.Event) {
			typ, data, err := domain.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			if ignored[typ] || notBusiness(typ) {
				return
			}
			got, err := decodeRead(typ, data, syms)
			want, wantErr := domain.Decode(typ, data)
			if err != nil || wantErr != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s %s: got %#v, %v, want %#v, %v", typ, data, got, err, want, wantErr)
			}
		}
		generateLog(20000, 3, func(evs []domain.Event) {
			for _, e := range evs {
				check(e)
			}
		})
		for _, evs := range randomHistory(8, 2000) {
			for _, e := range evs {
				check(e)
			}
		}
	})
	t.Run("the runner decodes a placement without reflection, sharing its region, kind, date and indicators", func(t *testing.T) {
		typ, data, err := domain.Encode(domain.PlacementRecorded{PlacementID: "J1", BeneficiaryID: "p1", Kind: domain.UrbanJob,
			RegionCode: "610902", Date: domain.MustDate("2017-05-01"), Indicators: []domain.Indicator{domain.NewUrbanJobs}})
		if err != nil {
			t.Fatal(err)
		}
		e := eventstore.Event{Type: typ, Data: data}
		syms := domain.NewSymbols()
		got := testing.AllocsPerRun(100, func() { decode(&e, syms) })
		if got > maxPlacementDecodeAllocs {
			t.Errorf("got %.0f allocations per placement, want at most %d", got, maxPlacementDecodeAllocs)
		}
	})
}

// maxPlacementDecodeAllocs is what decoding a placement may allocate with
// shared values: its two ids and the event boxed in an interface.
const maxPlacementDecodeAllocs = 3
