package planner

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// analyze runs a plan under a counting Storage and returns EXPLAIN's text
// followed by what actually happened.
func analyze(ctx context.Context, p *Plan, st Storage) (*Result, error) {
	cs := &countingStorage{Storage: st}
	start := time.Now()
	res, err := run(ctx, p, cs)
	elapsed := time.Since(start)
	if err != nil {
		return nil, err
	}
	text := Explain(p)
	text += fmt.Sprintf("  actual: time=%s rows=%d tensors_opened=%d read=%s written=%s\n",
		elapsed.Round(time.Microsecond), len(res.Rows), cs.opened.Load(), Bytes(cs.read.Load()), Bytes(cs.written.Load()))
	return explainResult(text), nil
}

// countingStorage counts what a plan reads and writes (raw bytes).
type countingStorage struct {
	Storage
	opened, read, written atomic.Int64
}

func (c *countingStorage) Open(t TensorInfo) (TensorReader, error) {
	r, err := c.Storage.Open(t)
	if err != nil {
		return nil, err
	}
	c.opened.Add(1)
	return &countingReader{TensorReader: r, c: c, size: int64(t.DType.Size())}, nil
}

func (c *countingStorage) Create(model, source string, outs []OutTensor) (ModelWriter, error) {
	w, err := c.Storage.Create(model, source, outs)
	if err != nil {
		return nil, err
	}
	return &countingWriter{ModelWriter: w, c: c}, nil
}

type countingReader struct {
	TensorReader
	c    *countingStorage
	size int64
}

func (r *countingReader) ReadFloat32(off int64, dst []float32) error {
	r.c.read.Add(int64(len(dst)) * r.size)
	return r.TensorReader.ReadFloat32(off, dst)
}

func (r *countingReader) ReadRaw(off int64, dst []byte) error {
	r.c.read.Add(int64(len(dst)))
	return r.TensorReader.ReadRaw(off, dst)
}

type countingWriter struct {
	ModelWriter
	c *countingStorage
}

func (w *countingWriter) Write(i int, raw []byte) error {
	w.c.written.Add(int64(len(raw)))
	return w.ModelWriter.Write(i, raw)
}
