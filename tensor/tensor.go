package tensor

import "fmt"

// Tensor is one named tensor held in memory: the bytes are little-endian,
// row-major, in the tensor's own dtype.
type Tensor struct {
	Name  string
	DType DType
	Shape Shape
	Data  []byte
}

// Validate checks that the byte length matches dtype and shape.
func (t *Tensor) Validate() error {
	want, err := t.Shape.Bytes(t.DType)
	if err != nil {
		return fmt.Errorf("vsdb: tensor %q: %w", t.Name, err)
	}
	if int64(len(t.Data)) != want {
		return fmt.Errorf("vsdb: tensor %q: %d bytes, but %s %s needs %d", t.Name, len(t.Data), t.DType, t.Shape, want)
	}
	return nil
}

// Float32s widens the tensor's values to float32.
func (t *Tensor) Float32s() ([]float32, error) {
	out := make([]float32, len(t.Data)/max(1, t.DType.Size()))
	if err := ToFloat32(t.DType, t.Data, out); err != nil {
		return nil, err
	}
	return out, nil
}
