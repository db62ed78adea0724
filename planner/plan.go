package planner

import (
	"github.com/vsdb/vsdb/merge"
	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/tensor"
)

// Plan is a statement ready to run: plain data that EXPLAIN prints.
type Plan struct {
	// Src is the statement's source text, for error positions.
	Src string
	// Stmt is the parsed statement (inside EXPLAIN, the explained one).
	Stmt query.Statement
	// Explain is set for EXPLAIN: print the plan instead of running it;
	// Analyze (EXPLAIN ANALYZE) runs it too and adds measured figures.
	Explain, Analyze bool
	// Root is the operation.
	Root Node
	// Rules lists the rewrite rules that changed the plan, in order.
	Rules []string
}

// Node is one operation of a plan.
type Node interface{ node() }

// ShowModelsNode lists models.
type ShowModelsNode struct{}

// ShowLayersNode lists the layers of one model or of all.
type ShowLayersNode struct{ Model string }

// ShowTensorsNode lists tensors of one model or all, filtered.
type ShowTensorsNode struct {
	Model string
	// Where is the whole condition as written.
	Where query.Expr
	// Index holds the top-level conjuncts answered by bitmaps (equality on
	// model, layer, param, dtype, codec; tier hot/warm) or by the read-count
	// index (reads >, >=).
	Index []*query.Compare
	// Filter is what remains, evaluated on each candidate tensor.
	Filter query.Expr
}

// DescribeNode describes one model.
type DescribeNode struct{ Model string }

// StatsNode sums sizes per model and codec ("" = every model).
type StatsNode struct{ Model string }

// DiffNode compares paired tensors of two selections.
type DiffNode struct {
	Left, Right query.Selector
	Pairing     string
	Groups      []FuseGroup
	Cost        Cost
}

// DeleteNode removes a model.
type DeleteNode struct{ Model string }

// CheckNode verifies indexes and checksums.
type CheckNode struct{ Model string }

// AttachNode builds the local catalog of a model ("" = every model this
// node lacks) from the object store's manifests.
type AttachNode struct{ Model, From string }

// DetachNode forgets a model on this node; the object store keeps it.
type DetachNode struct{ Model string }

// VacuumNode removes the object store's unreferenced chunks.
type VacuumNode struct{}

// IngestNode stores a checkpoint as a new model.
type IngestNode struct {
	Path string
	Load LoadOptions
}

// ExportNode writes a model to a file or a folder of shards.
type ExportNode struct {
	Model, Path string
	Options     ExportOptions
}

// CompressNode stores a model again with another codec or base.
type CompressNode struct {
	Model string
	Load  LoadOptions
}

// GetNode reads one tensor.
type GetNode struct {
	Sel    query.Selector
	Tensor TensorInfo
}

// FuseNode merges paired tensors.
type FuseNode struct {
	// Statement is the canonical text of the statement, kept as the new
	// model's source so a merge can be replayed.
	Statement string
	Inputs    []query.Selector
	Weights   []query.Weight
	Into      string
	// Method is the merge method; "" is the plain weighted sum Σ wᵢθᵢ.
	Method  string
	Options []query.Option
	Base    string
	Where   query.Expr
	// Params holds the method's options resolved (weights per group).
	Params merge.Params
	// Vocab is "common" when embedding/lm_head rows may differ in count and
	// only the common rows are merged.
	Vocab string
	// Pairing says how tensors of the inputs were matched: "tensor",
	// "parameter" (layer or prefix selectors) or "name" (whole models).
	Pairing string
	Groups  []FuseGroup
	// Streaming is true when the method is a linear combination computed
	// window by window; else whole tensors are merged in memory.
	Streaming bool
	Cost      Cost
}

// FuseGroup is one output tensor and the inputs it combines.
type FuseGroup struct {
	Out  OutTensor
	Key  string
	In   []TensorInfo
	Base *TensorInfo
	// Weights are this group's weights (gradients resolved per layer).
	Weights []float64
	// Copy: non-float tensors are copied from the first input, which all
	// inputs must equal.
	Copy  bool
	Elems int64
	// LowRank, when set, merges the group in factored space (the
	// low-rank-fusion rule): its inputs are low-rank tensors (or low-rank
	// deltas against one tensor) and that was estimated cheaper.
	LowRank *LowRankPath
}

// LowRankPath is how a group is merged in factored space: Σ cᵢ·Uᵢ·Vᵢᵀ =
// [c₁U₁ c₂U₂ …]·[V₁ V₂ …]ᵀ, plus β·D when the inputs are deltas against the
// tensor D (β the sum of their coefficients).
type LowRankPath struct {
	// M×N is the matrix the tensors are stored as; Rank the summed rank.
	M, N, Rank int
	// DeltaBase is D, when the inputs are deltas; Beta its coefficient.
	DeltaBase *TensorInfo
	Beta      float64
	// Store: FUSE ... INTO writes the concatenated factors (as a delta
	// against DeltaBase when Beta is 1) instead of the dense product.
	Store bool
	// Factored and Dense are the estimated costs of both paths.
	Factored, Dense Cost
}

// Cost is the planner's estimate for a plan.
type Cost struct {
	// BytesRead is stored bytes read from Pebble; BytesCached is decoded
	// bytes served by the cache of hot tensors instead.
	BytesRead    int64
	BytesCached  int64
	BytesWritten int64
	Flops        int64
	PeakMemory   int64
}

func (ShowModelsNode) node()  {}
func (ShowLayersNode) node()  {}
func (ShowTensorsNode) node() {}
func (DescribeNode) node()    {}
func (StatsNode) node()       {}
func (DiffNode) node()        {}
func (DeleteNode) node()      {}
func (CheckNode) node()       {}
func (GetNode) node()         {}
func (IngestNode) node()      {}
func (ExportNode) node()      {}
func (CompressNode) node()    {}
func (AttachNode) node()      {}
func (DetachNode) node()      {}
func (VacuumNode) node()      {}
func (FuseNode) node()        {}

// outDType is the dtype of a fused tensor: the inputs' dtype when they
// agree, else F32 (F64 if any input is F64).
func outDType(in []TensorInfo) tensor.DType {
	d := in[0].DType
	wide := false
	for _, t := range in {
		if t.DType == tensor.F64 {
			wide = true
		}
		if t.DType != d {
			d = tensor.Invalid
		}
	}
	switch {
	case d != tensor.Invalid:
		return d
	case wide:
		return tensor.F64
	}
	return tensor.F32
}
