package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/tensor"
)

// Models lists the stored models.
func (db *DB) Models() ([]ModelInfo, error) {
	s := db.snapshot()
	defer s.Close()
	return s.Models()
}

// Tensors lists a model's tensors in their original order.
func (db *DB) Tensors(model string) ([]TensorInfo, error) {
	s := db.snapshot()
	defer s.Close()
	return s.Tensors(model)
}

// Tensor reads one tensor into memory, bit-exact as ingested.
func (db *DB) Tensor(model, name string) (*tensor.Tensor, error) {
	s := db.snapshot()
	defer s.Close()
	ts, err := s.Tensors(model)
	if err != nil {
		var se *modelError
		if errors.As(err, &se) && se.model == model && !strings.Contains(err.Error(), strconv.Quote(name)) {
			return nil, inModel(model, fmt.Errorf("tensor %q: %w", name, se.err))
		}
		return nil, err
	}
	for _, t := range ts {
		if t.Name == name {
			return readAll(s, t)
		}
	}
	return nil, fmt.Errorf("vsdb: model %q has no tensor %q", model, name)
}

func readAll(s *snapshot, t TensorInfo) (*tensor.Tensor, error) {
	r, err := s.Open(t)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data := make([]byte, t.RawBytes)
	if err := r.ReadRaw(0, data); err != nil {
		return nil, err
	}
	return &tensor.Tensor{Name: t.Name, DType: t.DType, Shape: t.Shape, Data: data}, nil
}

// DeleteModel removes a model and everything it stored.
func (db *DB) DeleteModel(name string) error { return db.store.DeleteModel(name) }

// Export writes a model to a safetensors file, streaming one chunk at a
// time; the file appears at path only when complete.
// A path ending in "/" or naming an existing folder gets a folder of
// shards (see ExportWith).
func (db *DB) Export(ctx context.Context, model, path string) error {
	return db.ExportWith(ctx, model, path, ExportOptions{})
}

// ExportTo streams a model as safetensors bytes to w, reporting progress
// as ExportWith does.
func (db *DB) ExportTo(ctx context.Context, model string, w io.Writer) error {
	s := db.snapshotCtx(ctx)
	defer s.Close()
	entries, meta, open, err := s.exportSource(ctx, model)
	if err != nil {
		return err
	}
	delete(meta, ConfigKey)
	return safetensors.Write(w, entries, meta, reportWrites(ctx, entries, open))
}

// exportSource lists a model's tensors for the safetensors writer.
func (s *snapshot) exportSource(ctx context.Context, model string) ([]format.Entry, map[string]string, func(int) (io.ReadCloser, error), error) {
	m, ok, err := s.r.Model(model)
	if err != nil {
		return nil, nil, nil, err
	}
	if !ok {
		return nil, nil, nil, fmt.Errorf("vsdb: no model %q", model)
	}
	ts, err := s.Tensors(model)
	if err != nil {
		return nil, nil, nil, err
	}
	if m.Remote {
		// Chunks in an object store: fetch ahead, several at a time,
		// while the writer goes tensor by tensor.
		if recs, err := s.r.Tensors(m); err == nil {
			s.r.Prefetch(ctx, recs)
		}
	}
	entries := make([]format.Entry, len(ts))
	for i, t := range ts {
		entries[i] = format.Entry{Name: t.Name, DType: t.DType, Shape: t.Shape, Size: t.RawBytes}
	}
	open := func(i int) (io.ReadCloser, error) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("vsdb: export cancelled: %w", err)
		}
		r, err := s.Open(ts[i])
		if err != nil {
			return nil, err
		}
		return &rawStream{r: r.(*tensorReader), size: ts[i].RawBytes}, nil
	}
	meta := maps.Clone(m.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	return entries, meta, open, nil
}

// rawStream reads a stored tensor's raw bytes as an io.Reader.
type rawStream struct {
	r    *tensorReader
	off  int64
	size int64
}

func (s *rawStream) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	n := min(int64(len(p)), s.size-s.off)
	if err := s.r.ReadRaw(s.off, p[:n]); err != nil {
		return 0, err
	}
	s.off += n
	return int(n), nil
}

func (s *rawStream) Close() error { return s.r.Close() }

// Check verifies indexes against records and every chunk's checksums;
// model "" checks the whole store. It returns one line per problem.
func (db *DB) Check(model string) ([]string, error) {
	if model != "" {
		if _, ok, err := db.model(model); err != nil || !ok {
			return nil, notFound(model, err)
		}
	}
	r := db.store.Reader()
	defer r.Close()
	ps, err := r.Check(model)
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out, err
}

// RebuildIndexes recomputes every bitmap and the read-count index from the
// records (after CHECK reports index problems).
func (db *DB) RebuildIndexes() error {
	if err := db.store.RebuildIndexes(); err != nil {
		return err
	}
	return db.refreshAccess(-1)
}
