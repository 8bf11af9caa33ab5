package domain

// indicatorRule is one row of the DOMAIN.md counting table: a placement counts
// for indicator when its kind is one of kinds (nil: any kind) and the person
// holds category on the placement date ("" : any person).
type indicatorRule struct {
	indicator Indicator
	kinds     []PlacementKind
	category  Category
}

// placementTable is the DOMAIN.md table "which indicators a placement counts for".
var placementTable = []indicatorRule{
	{NewUrbanJobs, []PlacementKind{UrbanJob}, ""},
	{ReemployedUnemployed, []PlacementKind{UrbanJob}, RegisteredUnemployed},
	{HardToEmployPlaced, []PlacementKind{UrbanJob, PublicWelfareJob, CommunityFactJob}, HardToEmploy},
	{RuralLabourTransferred, []PlacementKind{RuralTransfer}, ""},
	{PovertyLabourTransferred, []PlacementKind{RuralTransfer}, PovertyLabour},
	{PublicWelfarePosts, []PlacementKind{PublicWelfareJob}, ""},
	{CommunityFactoryJobs, []PlacementKind{CommunityFactJob}, ""},
	{GraduatesEmployed, nil, Graduate},
	{StartupsSupported, []PlacementKind{StartupPlacement}, ""},
}

// PlacementIndicators returns the indicators a placement of kind counts for,
// given which categories the person holds on the placement date.
func PlacementIndicators(kind PlacementKind, holds func(Category) bool) []Indicator {
	var out []Indicator
	for _, row := range placementTable {
		if row.matchesKind(kind) && (row.category == "" || holds(row.category)) {
			out = append(out, row.indicator)
		}
	}
	return out
}

func (r indicatorRule) matchesKind(kind PlacementKind) bool {
	if r.kinds == nil {
		return true
	}
	for _, k := range r.kinds {
		if k == kind {
			return true
		}
	}
	return false
}
