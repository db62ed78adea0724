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
		p.Explain, p.Analyze, stmt, p.Stmt = true, ex.Analyze, ex.Stmt, ex.Stmt
	}
	root, err := logical(stmt)
	if err != nil {
		return nil, err
	}
	p.Root = root
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

// logical turns a statement into its plan node, as written.
func logical(stmt query.Statement) (Node, error) {
	switch s := stmt.(type) {
	case *query.ShowModels:
		return &ShowModelsNode{}, nil
	case *query.ShowLayers:
		return &ShowLayersNode{Model: s.Of}, nil
	case *query.ShowTensors:
		return &ShowTensorsNode{Model: s.From, Where: s.Where, Filter: s.Where}, nil
	case *query.Describe:
		return &DescribeNode{Model: s.Model}, nil
	case *query.Stats:
		return &StatsNode{Model: s.Model}, nil
	case *query.Diff:
		return &DiffNode{Left: s.Left, Right: s.Right}, nil
	case *query.DeleteModel:
		return &DeleteNode{Model: s.Model}, nil
	case *query.Check:
		return &CheckNode{Model: s.Model}, nil
	case *query.Get:
		return &GetNode{Sel: s.Sel}, nil
	case *query.Ingest:
		return &IngestNode{Path: s.Path, Load: LoadOptions{Name: s.Model, Base: s.Base, Codec: s.Codec}}, nil
	case *query.Export:
		return &ExportNode{Model: s.Model, Path: s.Path}, nil
	case *query.Compress:
		return &CompressNode{Model: s.Model, Load: LoadOptions{Name: s.Into, Base: s.Base, Codec: s.Codec}}, nil
	case *query.Attach:
		return &AttachNode{Model: s.Model, From: s.From}, nil
	case *query.Detach:
		return &DetachNode{Model: s.Model}, nil
	case *query.Vacuum:
		return &VacuumNode{}, nil
	case *query.Fuse:
		return &FuseNode{Statement: s.String(), Inputs: s.Inputs, Weights: s.Weights, Into: s.Into, Method: s.Method,
			Options: s.Options, Base: s.Base, Where: s.Where}, nil
	}
	return nil, fmt.Errorf("vsdb: cannot plan %T", stmt)
}
