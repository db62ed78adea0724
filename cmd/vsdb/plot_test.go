package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/tensor"
)

// plotTensor is a tensor of the given dtype and shape holding random
// values (or 0, 1, 2, ... for integers).
func plotTensor(r *rand.Rand, name string, dt tensor.DType, shape ...int64) *tensor.Tensor {
	n, _ := tensor.Shape(shape).Elements()
	vals := make([]float32, n)
	for i := range vals {
		vals[i] = float32(r.NormFloat64() * 0.05)
		if !dt.IsFloat() {
			vals[i] = float32(i)
		}
	}
	data := make([]byte, n*int64(dt.Size()))
	if err := tensor.FromFloat32(dt, vals, data); err != nil {
		panic(err)
	}
	return &tensor.Tensor{Name: name, DType: dt, Shape: shape, Data: data}
}

// makePlotStore makes a store holding small synthetic models: a
// (lossless), aq8 (the same file in q8), c (a's tensors but one missing
// and one of another shape, plus one of its own) and ids (integers only).
// It returns the store's folder, closed.
func makePlotStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	a := []*tensor.Tensor{
		plotTensor(r, "embeddings.position_ids", tensor.I64, 1, 64),
		plotTensor(r, "embeddings.word_embeddings.weight", tensor.F32, 100, 32),
	}
	for _, layer := range []string{"encoder.layer.0", "encoder.layer.1", "encoder.layer.10", "encoder.layer.2"} {
		a = append(a, plotTensor(r, layer+".attention.self.query.weight", tensor.F32, 32, 32),
			plotTensor(r, layer+".attention.self.query.bias", tensor.F16, 32),
			plotTensor(r, layer+".output.dense.weight", tensor.BF16, 32, 64))
	}
	// a[2] (encoder.layer.0's query weight) is missing from c, a[4]
	// (its output weight) has another shape.
	c := append([]*tensor.Tensor{plotTensor(r, "head.weight", tensor.F32, 8, 8), a[1], a[3], plotTensor(r, "encoder.layer.0.output.dense.weight", tensor.BF16, 64, 32)}, a[5:]...)
	store := filepath.Join(dir, "store")
	db, err := engine.Open(store, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ingest := func(name string, ts []*tensor.Tensor, codec string) {
		path := filepath.Join(dir, name+".safetensors")
		if err := writeTensors(path, &engine.Result{Tensors: ts}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Ingest(context.Background(), path, engine.IngestOptions{Name: name, Codec: codec}); err != nil {
			t.Fatal(err)
		}
	}
	ingest("a", a, "")
	ingest("aq8", a, "q8")
	ingest("c", c, "")
	ingest("ids", a[:1], "")
	// anan is a with a NaN in encoder.layer.0's query weight.
	nan := *a[2]
	nan.Data = append([]byte(nil), a[2].Data...)
	binary.LittleEndian.PutUint32(nan.Data, math.Float32bits(float32(math.NaN())))
	ingest("anan", append(append([]*tensor.Tensor{}, a[:2]...), append([]*tensor.Tensor{&nan}, a[3:]...)...), "")
	return store
}

// plotStore opens a store made by makePlotStore for the test.
func plotStore(t *testing.T) *engine.DB {
	t.Helper()
	db, err := engine.Open(makePlotStore(t), engine.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkPicture fails unless path is a PNG over 100 pixels each way.
func checkPicture(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 24 || binary.BigEndian.Uint32(b[16:]) <= 100 || binary.BigEndian.Uint32(b[20:]) <= 100 {
		t.Fatalf("%s: not a PNG over 100×100 (%d bytes)", path, len(b))
	}
}

// Every picture is drawn from a small store, diffs with missing pairs
// included, and hist reads F32, F16 and BF16 tensors.
func TestPlotPictures(t *testing.T) {
	db := plotStore(t)
	dir := t.TempDir()
	ctx := context.Background()
	runs := map[string]func(out string) error{
		"layers":     func(out string) error { return plotLayers(db, "aq8", out) },
		"diff":       func(out string) error { return plotDiff(ctx, db, "aq8", "a", out) },
		"diff-holes": func(out string) error { return plotDiff(ctx, db, "c", "a", out) },
		"diff-same":  func(out string) error { return plotDiff(ctx, db, "a", "a", out) },
	}
	for _, name := range []string{"encoder.layer.0.attention.self.query.weight", "encoder.layer.1.attention.self.query.bias", "encoder.layer.2.output.dense.weight"} {
		runs["hist "+name] = func(out string) error {
			return plotHist(db, plotHistCmd{Model: "aq8", Tensor: name, Bins: 20, plotOut: plotOut{out}})
		}
	}
	for name, run := range runs {
		out := filepath.Join(dir, name+".png")
		if err := run(out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkPicture(t, out)
	}
}

// Every refusal is one line starting "vsdb: " naming the problem, and
// writes no picture.
func TestPlotErrors(t *testing.T) {
	db := plotStore(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "x.png")
	ctx := context.Background()
	hist := func(model, name string, bins int, out string) error {
		return plotHist(db, plotHistCmd{Model: model, Tensor: name, Bins: bins, plotOut: plotOut{out}})
	}
	cases := []struct {
		err  error
		want string
	}{
		{plotLayers(db, "nope", out), `no model "nope"`},
		{plotDiff(ctx, db, "a", "nope", out), `no model "nope"`},
		{plotDiff(ctx, db, "ids", "a", out), "ids and a have no float tensors of the same name and shape"},
		{hist("nope", "x", 10, out), `no model "nope"`},
		{hist("a", "x.weight", 10, out), `has no tensor "x.weight"`},
		{hist("a", "embeddings.position_ids", 10, out), "a:embeddings.position_ids is I64, not a float tensor"},
		{hist("a", "embeddings.word_embeddings.weight", 0, out), "--bins 0: give 1 to 10000"},
		{plotLayers(db, "a", filepath.Join(dir, "missing", "x.png")), "cannot write " + filepath.Join(dir, "missing", "x.png")},
		{plotDiff(ctx, db, "aq8", "a", dir), "cannot write " + dir + ": it is a folder"},
		{hist("a", "embeddings.word_embeddings.weight", 10, filepath.Join(dir, "missing", "x.png")), "cannot write"},
		{plotLayers(db, "a", ""), "no output file given"},
		{plotLayers(db, "a", filepath.Join(dir, "x.jpg")), "x.jpg: pictures are written as PNG"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.HasPrefix(c.err.Error(), "vsdb: ") || strings.Contains(c.err.Error(), "\n") || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want one line starting vsdb: with %q", c.err, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refusals left files: %v", entries)
	}
}

// The grid of a diff has layers in natural order and the parameter kinds
// most layers have first, every cell missing until filled.
func TestDiffGrid(t *testing.T) {
	db := plotStore(t)
	ts, err := commonTensors(db, "c", "a")
	if err != nil {
		t.Fatal(err)
	}
	g := diffGrid(ts)
	if got := strings.Join(g.Rows, " "); got != "embeddings encoder.layer.0 encoder.layer.1 encoder.layer.2 encoder.layer.10" {
		t.Errorf("rows %s", got)
	}
	if got := strings.Join(g.Cols, " "); got != "attention.self.query.bias attention.self.query.weight output.dense.weight word_embeddings.weight" {
		t.Errorf("columns %s", got)
	}
	if len(g.Z) != 5 || len(g.Z[0]) != 4 || !math.IsNaN(g.Z[1][1]) {
		t.Errorf("cells %v", g.Z)
	}
}

// relChange is ‖a−b‖/‖b‖: 0 for a tensor against itself, small for q8.
func TestRelChange(t *testing.T) {
	db := plotStore(t)
	ctx := context.Background()
	name := "encoder.layer.0.attention.self.query.weight"
	if v, err := relChange(ctx, db, "a", "a", name); err != nil || v != 0 {
		t.Errorf("a against itself: %v %v", v, err)
	}
	if v, err := relChange(ctx, db, "aq8", "a", name); err != nil || v <= 0 || v > 0.02 {
		t.Errorf("q8 against a: %v %v", v, err)
	}
	if v, err := relChange(ctx, db, "anan", "a", name); err != nil || !math.IsInf(v, 1) {
		t.Errorf("a tensor holding NaN: %v %v, want +Inf (a not-finite cell)", v, err)
	}
	if err := plotDiff(ctx, db, "anan", "a", filepath.Join(t.TempDir(), "nan.png")); err != nil {
		t.Errorf("diff of a model holding NaN: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := relChange(cancelled, db, "aq8", "a", name); err == nil {
		t.Error("a cancelled diff succeeded")
	}
}

// naturalKey orders numbers inside names by value.
func TestNaturalKey(t *testing.T) {
	if !(naturalKey("encoder.layer.2") < naturalKey("encoder.layer.10")) || !(naturalKey("a") < naturalKey("b")) {
		t.Error("natural order wrong")
	}
}

// Through the command line: every plot command's --help has an example,
// a missing -o is bad usage (exit 2), a refusal is one line starting
// "vsdb: " (exit 1), and a picture is written.
func TestPlotCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildVsdb(t)
	store := makePlotStore(t)
	for _, sub := range []string{"layers", "diff", "hist"} {
		out, err := exec.Command(bin, "plot", sub, "--help").CombinedOutput()
		if err != nil || !strings.Contains(strings.Join(strings.Fields(string(out)), " "), "Example: vsdb plot "+sub) {
			t.Errorf("plot %s --help: %v\n%s", sub, err, out)
		}
	}
	png := filepath.Join(t.TempDir(), "p.png")
	run := func(args ...string) (string, int) {
		out, err := exec.Command(bin, append([]string{"--db", store, "plot"}, args...)...).CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		return string(out), 0
	}
	if out, code := run("layers", "a"); code != 2 || !strings.Contains(out, "missing flags: --out") {
		t.Errorf("without -o: exit %d %q", code, out)
	}
	for _, args := range [][]string{{"layers", "nope", "-o", png}, {"diff", "ids", "a", "-o", png}, {"hist", "a", "embeddings.position_ids", "-o", png}} {
		if out, code := run(args...); code != 1 || !strings.HasPrefix(out, "vsdb: ") || strings.Count(out, "\n") != 1 {
			t.Errorf("%v: exit %d %q", args, code, out)
		}
	}
	if out, code := run("diff", "aq8", "a", "-o", png); code != 0 {
		t.Fatalf("diff: exit %d %q", code, out)
	}
	checkPicture(t, png)
}
