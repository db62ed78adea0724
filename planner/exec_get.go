package planner

import (
	"fmt"

	"github.com/vsdb/vsdb/tensor"
)

func get(n *GetNode, st Storage) (*Result, error) {
	t, err := readTensor(n.Tensor, st)
	if err != nil {
		return nil, err
	}
	r := table("model", "name", "dtype", "shape", "elements")
	elems, _ := n.Tensor.Shape.Elements()
	r.add(n.Tensor.Model, n.Tensor.Name, n.Tensor.DType.String(), shapeList(n.Tensor), elems)
	r.Tensors = []*tensor.Tensor{t}
	return r, nil
}

// readTensor reads a whole tensor into memory.
func readTensor(ti TensorInfo, st Storage) (*tensor.Tensor, error) {
	size, err := ti.Shape.Bytes(ti.DType)
	if err != nil {
		return nil, fmt.Errorf("vsdb: %s: %w", ti.Ref(), err)
	}
	rd, err := st.Open(ti)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	data := make([]byte, size)
	if err := rd.ReadRaw(0, data); err != nil {
		return nil, err
	}
	return &tensor.Tensor{Name: ti.Name, DType: ti.DType, Shape: ti.Shape, Data: data}, nil
}
