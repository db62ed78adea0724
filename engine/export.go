package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/planner"
	"github.com/vsdb/vsdb/tensor"
)

// ExportOptions say how EXPORT writes a model.
type ExportOptions struct {
	// ShardSize, when > 0, writes a folder of safetensors shards of at most
	// this many bytes each (a tensor larger than that gets a shard of its
	// own) with model.safetensors.index.json, as Hugging Face does. A path
	// ending in "/" or naming an existing folder also gets a folder, with
	// shards of DefaultShardSize.
	ShardSize int64
	// DType, when set (F32, F16 or BF16), casts every F32, F16 and BF16
	// tensor to it (round to nearest even); a value beyond the target's
	// range is an error naming the tensor. Other tensors are written as
	// stored.
	DType tensor.DType
}

// DefaultShardSize is the shard size of a folder export without one (as
// transformers' save_pretrained).
const DefaultShardSize = 5 << 30

// ConfigKey is the model metadata key holding the config.json of a model
// ingested from a Hugging Face folder; a folder export writes it back.
const ConfigKey = format.ConfigKey

// ExportWith writes a model as one safetensors file, or as a folder of
// shards (see ExportOptions). Either appears whole or not at all. The
// function ctx carries, if any (see planner.WithProgress), gets the tensor
// bytes written and their total.
func (db *DB) ExportWith(ctx context.Context, model, path string, o ExportOptions) error {
	s := db.snapshotCtx(ctx)
	defer s.Close()
	entries, meta, open, err := s.exportSource(ctx, model)
	if err != nil {
		return err
	}
	if o.DType != tensor.Invalid {
		if entries, open, err = castExport(entries, open, o.DType); err != nil {
			return err
		}
	}
	open = reportWrites(ctx, entries, open)
	folder := o.ShardSize > 0 || strings.HasSuffix(path, "/") || isDir(path)
	if !folder {
		delete(meta, ConfigKey)
		return safetensors.WriteFile(path, entries, meta, open)
	}
	if o.ShardSize <= 0 {
		o.ShardSize = DefaultShardSize
	}
	return exportFolder(filepath.Clean(path), entries, meta, open, o)
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// exportFolder writes the shards, the index and the config into a new
// folder beside path, then renames it to path (which must not exist, or be
// an empty folder).
func exportFolder(path string, entries []format.Entry, meta map[string]string, open func(int) (io.ReadCloser, error), o ExportOptions) (err error) {
	if des, err := os.ReadDir(path); err == nil {
		if len(des) > 0 {
			return fmt.Errorf("vsdb: %s: the folder exists and is not empty; export into a new folder", path)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("vsdb: %s: %v", path, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("vsdb: %s: cannot create a temporary folder next to it: %v", path, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("vsdb: %s: %v", tmp, err)
	}
	config := meta[ConfigKey]
	delete(meta, ConfigKey)
	if meta["format"] == "" {
		meta["format"] = "pt" // transformers loads only safetensors marked "pt"
	}
	shards := planShards(entries, o.ShardSize)
	weightMap := map[string]string{}
	var total int64
	for k, sh := range shards {
		name := "model.safetensors"
		if len(shards) > 1 {
			name = fmt.Sprintf("model-%05d-of-%05d.safetensors", k+1, len(shards))
		}
		part := make([]format.Entry, len(sh))
		for j, i := range sh {
			part[j] = entries[i]
			weightMap[entries[i].Name] = name
			total += entries[i].Size
		}
		sh := sh
		if err := safetensors.WriteFile(filepath.Join(tmp, name), part, meta, func(j int) (io.ReadCloser, error) { return open(sh[j]) }); err != nil {
			return err
		}
	}
	if len(shards) > 1 {
		index, _ := json.MarshalIndent(map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}, "", "  ")
		if err := writeFileSync(filepath.Join(tmp, "model.safetensors.index.json"), append(index, '\n')); err != nil {
			return err
		}
	}
	if config != "" {
		if err := writeFileSync(filepath.Join(tmp, "config.json"), []byte(exportConfig(config, o.DType))); err != nil {
			return err
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("vsdb: %s: %v", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("vsdb: %s: %v", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// planShards groups entry indexes, in order, into shards of at most size
// bytes (a larger tensor alone).
func planShards(entries []format.Entry, size int64) [][]int {
	var out [][]int
	var cur []int
	var used int64
	for i, e := range entries {
		if len(cur) > 0 && used+e.Size > size {
			out, cur, used = append(out, cur), nil, 0
		}
		cur = append(cur, i)
		used += e.Size
	}
	if len(cur) > 0 || len(out) == 0 {
		out = append(out, cur)
	}
	return out
}

// exportConfig sets torch_dtype in a kept config.json to the export's
// dtype, leaving it as it was otherwise (or when it is not a JSON object).
func exportConfig(config string, dt tensor.DType) string {
	name := map[tensor.DType]string{tensor.F32: "float32", tensor.F16: "float16", tensor.BF16: "bfloat16"}[dt]
	var m map[string]any
	if name == "" || json.Unmarshal([]byte(config), &m) != nil {
		return config
	}
	if _, ok := m["torch_dtype"]; !ok {
		return config
	}
	m["torch_dtype"] = name
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return config
	}
	return string(b) + "\n"
}

func writeFileSync(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("vsdb: %s: %v", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("vsdb: %s: %v", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("vsdb: %s: %v", path, err)
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	d.Sync()
	return nil
}

// reportWrites makes open count the bytes the writer reads through it and
// report them, with their total, to the function ctx carries (if any).
func reportWrites(ctx context.Context, entries []format.Entry, open func(int) (io.ReadCloser, error)) func(int) (io.ReadCloser, error) {
	report := planner.ProgressFrom(ctx)
	if report == nil {
		return open
	}
	c := &byteCounter{report: report}
	for _, e := range entries {
		c.total += e.Size
	}
	report(0, c.total)
	return func(i int) (io.ReadCloser, error) {
		r, err := open(i)
		if err != nil {
			return nil, err
		}
		return &countingReader{ReadCloser: r, c: c}, nil
	}
}

// byteCounter sums the bytes of one export (read one tensor at a time).
type byteCounter struct {
	report      func(done, total int64)
	done, total int64
}

// countingReader adds what it reads to a byteCounter.
type countingReader struct {
	io.ReadCloser
	c *byteCounter
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		r.c.done += int64(n)
		r.c.report(min(r.c.done, r.c.total), r.c.total)
	}
	return n, err
}

// castExport converts float tensors to dt while streaming.
func castExport(entries []format.Entry, open func(int) (io.ReadCloser, error), dt tensor.DType) ([]format.Entry, func(int) (io.ReadCloser, error), error) {
	if !dt.IsFloat() || dt == tensor.F64 {
		return nil, nil, fmt.Errorf("vsdb: export dtype must be F32, F16 or BF16, not %s", dt)
	}
	out := append([]format.Entry(nil), entries...)
	castable := map[tensor.DType]bool{tensor.F32: true, tensor.F16: true, tensor.BF16: true}
	for i := range out {
		// F64 and the 8-bit floats are written as stored.
		if castable[out[i].DType] && out[i].DType != dt {
			out[i].Size = out[i].Size / int64(out[i].DType.Size()) * int64(dt.Size())
			out[i].DType = dt
		}
	}
	castOpen := func(i int) (io.ReadCloser, error) {
		r, err := open(i)
		if err != nil || out[i].DType == entries[i].DType {
			return r, err
		}
		return &castReader{r: r, from: entries[i].DType, to: dt, name: entries[i].Name}, nil
	}
	return out, castOpen, nil
}

// castReader reads a tensor's bytes in one dtype and yields them in
// another, a block at a time.
type castReader struct {
	r        io.ReadCloser
	from, to tensor.DType
	name     string
	in       []byte
	vals     []float32
	out      []byte
	pending  []byte
	elem     int64
}

const castBlock = 64 << 10 // values per block

func (c *castReader) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

func (c *castReader) fill() error {
	if c.in == nil {
		c.in = make([]byte, castBlock*c.from.Size())
		c.vals = make([]float32, castBlock)
		c.out = make([]byte, castBlock*c.to.Size())
	}
	n, err := io.ReadFull(c.r, c.in)
	if n == 0 {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return err
	}
	if n%c.from.Size() != 0 {
		return fmt.Errorf("vsdb: tensor %q: %d bytes is not a whole number of %s values", c.name, n, c.from)
	}
	k := n / c.from.Size()
	vals := c.vals[:k]
	if err := tensor.ToFloat32(c.from, c.in[:n], vals); err != nil {
		return err
	}
	if limit := c.to.MaxFinite(); limit < math.MaxFloat32 {
		for j, v := range vals {
			if math.Abs(float64(v)) > limit {
				return fmt.Errorf("vsdb: tensor %q: element %d is %v, beyond what %s holds (±%g); export it in a wider dtype", c.name, c.elem+int64(j), v, c.to, limit)
			}
		}
	}
	c.elem += int64(k)
	if err := tensor.FromFloat32(c.to, vals, c.out[:k*c.to.Size()]); err != nil {
		return err
	}
	c.pending = c.out[:k*c.to.Size()]
	return nil
}

func (c *castReader) Close() error { return c.r.Close() }
