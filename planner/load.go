package planner

import (
	"context"
	"math"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
	"github.com/vsdb/vsdb/query"
)

// checkLoad validates INGEST, EXPORT and COMPRESS: models named exist (the
// source and base) or not (the target), and CODEC's options (budget, with
// auto only).
func checkLoad(p *Plan, cat Catalog) (bool, error) {
	switch s := p.Stmt.(type) {
	case *query.Ingest:
		n := p.Root.(*IngestNode)
		if err := checkNewModel(p, cat, s.Model, s.ModelPos); err != nil {
			return false, err
		}
		if err := checkBase(p, cat, s.Base, s.BasePos); err != nil {
			return false, err
		}
		return true, codecOptions(p, &n.Load, s.Codec, s.CodecPos, s.Options)
	case *query.Export:
		if err := mustExist(p, cat, s.Model, s.ModelPos); err != nil {
			return false, err
		}
		return true, exportOptions(p, &p.Root.(*ExportNode).Options, s.Options)
	case *query.Compress:
		n := p.Root.(*CompressNode)
		if err := mustExist(p, cat, s.Model, s.ModelPos); err != nil {
			return false, err
		}
		if err := checkNewModel(p, cat, s.Into, s.IntoPos); err != nil {
			return false, err
		}
		if err := checkBase(p, cat, s.Base, s.BasePos); err != nil {
			return false, err
		}
		return true, codecOptions(p, &n.Load, s.Codec, s.CodecPos, s.Options)
	}
	return false, nil
}

func mustExist(p *Plan, cat Catalog, name string, pos lexer.Position) error {
	if _, ok, err := cat.Model(name); err != nil {
		return err
	} else if !ok {
		return noModel(p.Src, pos, name, cat)
	}
	return nil
}

func checkBase(p *Plan, cat Catalog, name string, pos lexer.Position) error {
	if name == "" {
		return nil
	}
	return mustExist(p, cat, name, pos)
}

func checkNewModel(p *Plan, cat Catalog, name string, pos lexer.Position) error {
	if name == "" {
		return nil
	}
	if err := query.ValidModelName(name); err != nil {
		return query.ErrorAt(p.Src, pos, "%s", strings.TrimPrefix(err.Error(), "vsdb: "))
	}
	if _, ok, err := cat.Model(name); err != nil {
		return err
	} else if ok {
		return query.ErrorAt(p.Src, pos, "model %q already exists (DELETE MODEL %s first, or choose another name)", name, name)
	}
	return nil
}

// codecOptions accepts CODEC auto(budget = x) and CODEC lowrank(rank = k)
// or lowrank(budget = x); other codecs take none.
func codecOptions(p *Plan, o *LoadOptions, codec string, codecPos lexer.Position, opts []query.Option) error {
	for _, opt := range opts {
		switch {
		case opt.Key == "budget" && (codec == "auto" || codec == "lowrank"):
			if opt.Kind != query.OptNumber || opt.Number < 0 {
				return query.ErrorAt(p.Src, opt.ValuePos, "budget is a relative error of 0 or more")
			}
			o.Budget = opt.Number
		case opt.Key == "rank" && codec == "lowrank":
			if opt.Kind != query.OptNumber || opt.Number < 1 || opt.Number != float64(int(opt.Number)) || opt.Number > 1<<30 {
				return query.ErrorAt(p.Src, opt.ValuePos, "rank is a whole number of 1 or more")
			}
			o.Rank = int(opt.Number)
		default:
			return query.ErrorAt(p.Src, opt.Pos, "CODEC %s takes no option %q (auto takes budget; lowrank takes rank or budget)", codec, opt.Key)
		}
	}
	if codec == "lowrank" && (o.Rank > 0) == (o.Budget > 0) {
		return query.ErrorAt(p.Src, codecPos, "CODEC lowrank takes a rank or a budget: lowrank(rank = 8) or lowrank(budget = 0.01)")
	}
	return nil
}

func runIngest(ctx context.Context, n *IngestNode, st Storage) (*Result, error) {
	m, err := st.Ingest(ctx, n.Path, n.Load)
	if err != nil {
		return nil, err
	}
	return modelRow(m), nil
}

func runCompress(ctx context.Context, n *CompressNode, st Storage) (*Result, error) {
	m, err := st.Compress(ctx, n.Model, n.Load)
	if err != nil {
		return nil, err
	}
	return modelRow(m), nil
}

// exportOptions accepts EXPORT's shard_size (bytes, 1 or more; 2GB
// works) and dtype ('f32', 'f16' or 'bf16').
func exportOptions(p *Plan, o *ExportOptions, opts []query.Option) error {
	for _, opt := range opts {
		switch opt.Key {
		case "shard_size":
			if opt.Kind != query.OptNumber || opt.Number < 1 || opt.Number > 1<<50 || opt.Number != math.Trunc(opt.Number) {
				return query.ErrorAt(p.Src, opt.ValuePos, "shard_size is a whole number of bytes, e.g. 2GB")
			}
			o.ShardSize = int64(opt.Number)
		case "dtype":
			d := strings.ToUpper(opt.Str)
			if opt.Kind != query.OptString || (d != "F32" && d != "F16" && d != "BF16") {
				return query.ErrorAt(p.Src, opt.ValuePos, "dtype is 'f32', 'f16' or 'bf16'")
			}
			o.DType = d
		default:
			return query.ErrorAt(p.Src, opt.Pos, "EXPORT takes no option %q (options: shard_size, dtype)", opt.Key)
		}
	}
	return nil
}

func runExport(ctx context.Context, n *ExportNode, st Storage) (*Result, error) {
	if err := st.Export(ctx, n.Model, n.Path, n.Options); err != nil {
		return nil, err
	}
	r := table("model", "exported_to")
	r.add(n.Model, n.Path)
	return r, nil
}

func modelRow(m ModelInfo) *Result {
	r := table("model", "tensors", "raw_bytes", "stored_bytes", "ratio")
	r.add(m.Name, m.Tensors, m.RawBytes, m.StoredBytes, ratio(m.RawBytes, m.StoredBytes))
	return r
}
