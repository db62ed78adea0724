package planner

// rule is one rewrite step. Rules run in table order; each returns whether
// it changed the plan, and EXPLAIN lists those that did.
type rule struct {
	name  string
	apply func(p *Plan, cat Catalog) (bool, error)
}

// rules is the ordered rule table.
var rules = []rule{
	{"check-names", checkNames},
	{"check-attach", checkAttach},
	{"check-load", checkLoad},
	{"check-target", checkTarget},
	{"resolve-selectors", resolveSelectors},
	{"resolve-method", resolveMethod},
	{"pair-inputs", pairInputs},
	{"filter-tensors", filterGroups},
	{"resolve-weights", resolveWeights},
	{"bitmap-index", chooseIndexes},
	{"low-rank-fusion", chooseLowRank},
	{"estimate-cost", estimateCost},
}
