package planner

// rule is one rewrite step. Rules run in table order; each returns whether
// it changed the plan, and EXPLAIN lists those that did.
type rule struct {
	name  string
	apply func(p *Plan, cat Catalog) (bool, error)
}

// rules is the ordered rule table.
var rules = []rule{
	{"check-target", checkTarget},
	{"resolve-selectors", resolveSelectors},
	{"pair-inputs", pairInputs},
	{"bitmap-index", chooseIndexes},
	{"estimate-cost", estimateCost},
}
