package planner

import (
	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/tensor"
)

// Plan is a statement ready to run: plain data that EXPLAIN prints.
type Plan struct {
	// Src is the statement's source text, for error positions.
	Src string
	// Stmt is the parsed statement.
	Stmt query.Statement
	// Explain is set for EXPLAIN: print the plan instead of running it.
	Explain bool
	// Root is the operation.
	Root Node
	// Rules lists the rewrite rules that changed the plan, in order.
	Rules []string
}

// Node is one operation of a plan.
type Node interface{ node() }

// ShowModelsNode lists models.
type ShowModelsNode struct{}

// ShowTensorsNode lists tensors of one model or all, filtered.
type ShowTensorsNode struct {
	Model string
	// Index holds the equality predicates answered by bitmap indexes.
	Index []query.Predicate
	// Filter holds the predicates evaluated on each candidate tensor.
	Filter []query.Predicate
}

// GetNode reads one tensor.
type GetNode struct {
	Sel    query.Selector
	Tensor TensorInfo
}

// FuseNode computes weighted sums of paired tensors.
type FuseNode struct {
	Inputs  []query.Selector
	Weights []float64
	Into    string
	// Pairing says how tensors of the inputs were matched: "tensor",
	// "parameter" (layer or prefix selectors) or "name" (whole models).
	Pairing string
	Groups  []FuseGroup
	Cost    Cost
}

// FuseGroup is one output tensor and the inputs it combines.
type FuseGroup struct {
	Out   OutTensor
	Key   string
	In    []TensorInfo
	Copy  bool // non-float tensors: copied from the first input, which all must equal
	Elems int64
}

// Cost is the planner's estimate for a plan.
type Cost struct {
	BytesRead    int64
	BytesWritten int64
	Flops        int64
	PeakMemory   int64
}

func (ShowModelsNode) node()  {}
func (ShowTensorsNode) node() {}
func (GetNode) node()         {}
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
