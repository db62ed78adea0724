package planner

import (
	"fmt"

	"github.com/vsdb/vsdb/query"
)

// Build plans a parsed statement against the catalog: it makes the logical
// plan and applies the rewrite rules in order.
func Build(src string, stmt query.Statement, cat Catalog) (*Plan, error) {
	p := &Plan{Src: src, Stmt: stmt}
	if ex, ok := stmt.(*query.Explain); ok {
		p.Explain, stmt = true, ex.Stmt
	}
	switch s := stmt.(type) {
	case *query.ShowModels:
		p.Root = &ShowModelsNode{}
	case *query.ShowTensors:
		p.Root = &ShowTensorsNode{Model: s.From, Filter: s.Where}
	case *query.Get:
		p.Root = &GetNode{Sel: s.Sel}
	case *query.Fuse:
		n := &FuseNode{Inputs: s.Inputs, Into: s.Into}
		for _, w := range s.Weights {
			n.Weights = append(n.Weights, w.Value)
		}
		p.Root = n
	default:
		return nil, fmt.Errorf("vsdb: cannot plan %T", stmt)
	}
	for _, r := range rules {
		changed, err := r.apply(p, cat)
		if err != nil {
			return nil, err
		}
		if changed {
			p.Rules = append(p.Rules, r.name)
		}
	}
	return p, nil
}
