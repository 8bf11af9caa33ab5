package projections

import (
	"context"
	"fmt"
	"testing"

	"github.com/hrss-ledger/ledger/domain"
	"github.com/hrss-ledger/ledger/eventstore/memory"
)

func TestCatalogListsRegionsFundsAndYears(t *testing.T) {
	d := date("2017-01-01")
	history := [][]domain.Event{
		{domain.RegionDefined{Code: "610000", Name: "陕西省", Date: d}},
		{domain.RegionDefined{Code: "610900", Name: "安康市", ParentCode: "610000", Date: d}},
		{domain.FundOpened{FundID: "GUA", Name: "创业担保基金", Kind: domain.FundGuarantee, RegionCode: "610900", Date: d}},
		{domain.FundOpened{FundID: "EMP", Name: "就业补助资金", Kind: domain.FundEmploymentSubsidy, RegionCode: "610900", Date: d}},
		{target("610900", 2018, domain.NewUrbanJobs, domain.Province, "100", domain.Floor, "2018-01-02")},
		{placement("P1", "B1", "610900", "2017-03-01", domain.NewUrbanJobs)},
	}
	store := memory.New()
	appendHistory(t, store, history, 0, len(history))
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CatchUp(context.Background(), store); err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"regions with their parents", fmt.Sprint(p.RegionTree()), "[{610000 陕西省 } {610900 安康市 610000}]"},
		{"funds, sorted", fmt.Sprint(p.FundIDs()), "[EMP GUA]"},
		{"years with a target or a figure", fmt.Sprint(p.Years()), "[2017 2018]"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, c.got, c.want)
		}
	}
}
