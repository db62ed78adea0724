package planner

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/vsdb/vsdb/tensor"
)

// memStorage is an in-memory Storage for planner tests: float32 tensors only
// need their values; other dtypes are stored as raw bytes.
type memStorage struct {
	models map[string][]memTensor
	order  []string
	nextID uint32
	chunk  int64
	tier   *memTier // the object store (tier_fake_test.go); nil: none
}

type memTensor struct {
	info    TensorInfo
	raw     []byte
	factors *Factors // low-rank tensors (lowrank_fake_test.go)
}

func newMem() *memStorage { return &memStorage{models: map[string][]memTensor{}, chunk: 64} }

// add stores a tensor; layer and param follow vsdb's naming rule.
func (m *memStorage) add(model, name string, dt tensor.DType, shape tensor.Shape, vals []float32) {
	if _, ok := m.models[model]; !ok {
		m.order = append(m.order, model)
	}
	raw := make([]byte, len(vals)*dt.Size())
	tensor.FromFloat32(dt, vals, raw)
	layer, param := splitForTest(name)
	info := TensorInfo{ID: m.nextID, Model: model, Name: name, Layer: layer, Param: param, DType: dt, Shape: shape,
		Codec: "raw", RawBytes: int64(len(raw)), StoredBytes: int64(len(raw)), Tier: "cold"}
	m.nextID++
	m.models[model] = append(m.models[model], memTensor{info: info, raw: raw})
}

func splitForTest(name string) (string, string) {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		if p != "" && strings.Trim(p, "0123456789") == "" {
			return strings.Join(parts[:i+1], "."), strings.Join(parts[i+1:], ".")
		}
	}
	if len(parts) == 1 {
		return "", name
	}
	return parts[0], strings.Join(parts[1:], ".")
}

func (m *memStorage) Models() ([]ModelInfo, error) {
	names := append([]string{}, m.order...)
	sort.Strings(names)
	var out []ModelInfo
	for _, n := range names {
		mi, _, _ := m.Model(n)
		out = append(out, mi)
	}
	return out, nil
}

func (m *memStorage) Model(name string) (ModelInfo, bool, error) {
	ts, ok := m.models[name]
	mi := ModelInfo{Name: name, Tensors: len(ts)}
	for _, t := range ts {
		mi.RawBytes += t.info.RawBytes
		mi.StoredBytes += t.info.StoredBytes
	}
	return mi, ok, nil
}

func (m *memStorage) Tensors(model string) ([]TensorInfo, error) {
	ts, ok := m.models[model]
	if !ok {
		return nil, fmt.Errorf("vsdb: no model %q", model)
	}
	out := make([]TensorInfo, len(ts))
	for i, t := range ts {
		out[i] = t.info
	}
	return out, nil
}

func (m *memStorage) Tensor(model, name string) (TensorInfo, bool, error) {
	x, err := m.find(TensorInfo{Model: model, Name: name})
	return x.info, err == nil, nil
}

func (m *memStorage) all() []memTensor {
	var out []memTensor
	for _, n := range m.order {
		out = append(out, m.models[n]...)
	}
	return out
}

func (m *memStorage) Index(kind, value string) (*roaring.Bitmap, error) {
	bm := roaring.New()
	for _, t := range m.all() {
		v := map[string]string{"layer": t.info.Layer, "param": t.info.Param, "dtype": t.info.DType.String(), "codec": t.info.Codec, "model": t.info.Model}[kind]
		if v == value {
			bm.Add(t.info.ID)
		}
	}
	return bm, nil
}

func (m *memStorage) TensorsByID(ids *roaring.Bitmap) ([]TensorInfo, error) {
	var out []TensorInfo
	for _, t := range m.all() {
		if ids.Contains(t.info.ID) {
			out = append(out, t.info)
		}
	}
	return out, nil
}

func (m *memStorage) ChunkBytes() int64 { return m.chunk }

func (m *memStorage) find(t TensorInfo) (memTensor, error) {
	for _, x := range m.models[t.Model] {
		if x.info.Name == t.Name {
			return x, nil
		}
	}
	return memTensor{}, fmt.Errorf("vsdb: no tensor %s", t.Ref())
}

type memReader struct{ t memTensor }

func (m *memStorage) Open(t TensorInfo) (TensorReader, error) {
	x, err := m.find(t)
	return &memReader{x}, err
}

func (r *memReader) ReadFloat32(off int64, dst []float32) error {
	size := int64(r.t.info.DType.Size())
	return tensor.ToFloat32(r.t.info.DType, r.t.raw[off*size:], dst)
}

func (r *memReader) ReadRaw(off int64, dst []byte) error {
	copy(dst, r.t.raw[off:])
	return nil
}

func (r *memReader) Close() error { return nil }

type memWriter struct {
	m        *memStorage
	model    string
	outs     []OutTensor
	data     [][]byte
	factored map[int]string // how WriteFactors stored a tensor
}

func (m *memStorage) Create(model, _ string, outs []OutTensor) (ModelWriter, error) {
	return &memWriter{m: m, model: model, outs: outs, data: make([][]byte, len(outs))}, nil
}

func (w *memWriter) Write(i int, raw []byte) error {
	w.data[i] = append(w.data[i], raw...)
	return nil
}

func (w *memWriter) Commit(context.Context) error {
	for i, o := range w.outs {
		vals := make([]float32, len(w.data[i])/max(1, o.DType.Size()))
		tensor.ToFloat32(o.DType, w.data[i], vals)
		w.m.add(w.model, o.Name, o.DType, o.Shape, vals)
		if how, ok := w.factored[i]; ok {
			ts := w.m.models[w.model]
			ts[len(ts)-1].info.Codec = how
		}
	}
	return nil
}

func (w *memWriter) Abort() error { return nil }

func (m *memStorage) AllTensors() (*roaring.Bitmap, error) {
	bm := roaring.New()
	for _, t := range m.all() {
		bm.Add(t.info.ID)
	}
	return bm, nil
}

func (m *memStorage) ReadsAbove(n uint64, candidates *roaring.Bitmap) (*roaring.Bitmap, error) {
	bm := roaring.New()
	for _, t := range m.all() {
		if t.info.Reads > n && candidates.Contains(t.info.ID) {
			bm.Add(t.info.ID)
		}
	}
	return bm, nil
}

func (m *memStorage) DeleteModel(model string) error {
	if _, ok := m.models[model]; !ok {
		return fmt.Errorf("vsdb: no model %q", model)
	}
	delete(m.models, model)
	for i, n := range m.order {
		if n == model {
			m.order = append(m.order[:i], m.order[i+1:]...)
			break
		}
	}
	return nil
}

func (m *memStorage) Check(string) ([]string, error) { return nil, nil }

func (m *memStorage) Ingest(_ context.Context, path string, o LoadOptions) (ModelInfo, error) {
	return ModelInfo{}, fmt.Errorf("vsdb: %s: the test catalog reads no files", path)
}

func (m *memStorage) Export(context.Context, string, string, ExportOptions) error { return nil }

// Compress copies the model's values under the new name.
func (m *memStorage) Compress(_ context.Context, model string, o LoadOptions) (ModelInfo, error) {
	for _, t := range m.models[model] {
		vals := make([]float32, len(t.raw)/t.info.DType.Size())
		tensor.ToFloat32(t.info.DType, t.raw, vals)
		m.add(o.Name, t.info.Name, t.info.DType, t.info.Shape, vals)
	}
	mi, _, err := m.Model(o.Name)
	return mi, err
}
