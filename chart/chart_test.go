package chart

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
)

// checkPNG fails unless path holds a PNG more than 100 pixels each
// way and over least bytes.
func checkPNG(t *testing.T, path string, least int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || string(b[12:16]) != "IHDR" {
		t.Fatalf("%s: not a PNG (%d bytes)", path, len(b))
	}
	w, h := binary.BigEndian.Uint32(b[16:]), binary.BigEndian.Uint32(b[20:])
	if w <= 100 || h <= 100 || len(b) <= least {
		t.Fatalf("%s: %d×%d, %d bytes: too small", path, w, h, len(b))
	}
}

// checkOneLine fails unless err is a one-line message starting "vsdb: "
// and holding want.
func checkOneLine(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.HasPrefix(err.Error(), "vsdb: ") || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one line starting vsdb: with %q", err, want)
	}
}

// sineValues are n values spread like a weight's, with a NaN and an
// infinity among them.
func sineValues(n int) []float32 {
	values := make([]float32, n)
	for i := range values {
		values[i] = float32(math.Sin(float64(i)) * math.Cos(float64(i)/7))
	}
	values[3], values[4] = float32(math.NaN()), float32(math.Inf(-1))
	return values
}

// drawEach draws every picture into its own file of dir and checks that
// it is a PNG of over least bytes.
func drawEach(t *testing.T, least int, pictures map[string]func(path string) error) {
	t.Helper()
	dir := t.TempDir()
	for name, draw := range pictures {
		path := filepath.Join(dir, name+".png")
		if err := draw(path); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkPNG(t, path, least)
	}
}

// Every picture of realistic data is a PNG over 10 KB.
func TestPictures(t *testing.T) {
	nan := math.NaN()
	g := Grid{
		Rows: []string{"embeddings", "encoder.layer.0", "encoder.layer.1"},
		Cols: []string{"attention.self.query.weight", "attention.self.query.bias", "output.LayerNorm.bias", "word_embeddings.weight"},
		Z:    [][]float64{{nan, nan, 0, 0.004}, {0.005, 0.0003, 0.02, nan}, {0.006, math.Inf(1), -1, nan}},
	}
	parts := []LayerCodec{
		{"embeddings", "q8", 4 << 20, 0.008}, {"embeddings", "lossless", 4 << 10, 0},
		{"encoder.layer.0", "q8", 2 << 20, 0.009}, {"encoder.layer.0", "f16", 30 << 10, 0.0003},
		{"encoder.layer.0", "q8", 1 << 20, 0.007}, {"encoder.layer.1", "q8", 3 << 20, 0.01},
	}
	layers := []Layer{{"embeddings", 100, 80, 0}, {"encoder.layer.0", 100, 25, 0.004}, {"encoder.layer.1", 100, 50, math.Inf(1)}}
	drawEach(t, 10<<10, map[string]func(string) error{
		"stats":  func(path string) error { return LayerStats("m", layers, path) },
		"codecs": func(path string) error { return LayerCodecs("m", parts, path) },
		"heat":   func(path string) error { return HeatMap("a against b", "||a-b|| / ||b||", g, path) },
		"hist":   func(path string) error { return Histogram("m: t", sineValues(10000), 80, path) },
	})
}

// One layer, one cell, one value, errors or cells that are not finite,
// all missing or all zero still make a picture.
func TestPictureEdges(t *testing.T) {
	one := func(z ...float64) Grid {
		return Grid{Rows: []string{"r"}, Cols: []string{"c", "d"}[:len(z)], Z: [][]float64{z}}
	}
	drawEach(t, 2<<10, map[string]func(string) error{
		"stats-nonfinite": func(path string) error {
			return LayerStats("m", []Layer{{"a", 100, 80, 0.01}, {"b", 100, 25, math.Inf(1)}, {"c", 100, 50, math.NaN()}}, path)
		},
		"codecs-one": func(path string) error {
			return LayerCodecs("m", []LayerCodec{{"only", "q4", 1000, math.Inf(1)}, {"only", "f16", 1000, math.NaN()}}, path)
		},
		"heat-one":     func(path string) error { return HeatMap("one", "change", one(0.5), path) },
		"heat-missing": func(path string) error { return HeatMap("missing", "change", one(math.NaN(), math.NaN()), path) },
		"heat-zeros":   func(path string) error { return HeatMap("zeros", "change", one(0, 0), path) },
		"heat-inf":     func(path string) error { return HeatMap("inf", "change", one(math.Inf(1), math.NaN()), path) },
		"hist-one":     func(path string) error { return Histogram("one", []float32{3}, 10, path) },
		"hist-same":    func(path string) error { return Histogram("same", []float32{1, 1, 1, 1}, 10, path) },
	})
}

// Empty or inconsistent input is a one-line error and writes nothing.
func TestRefusals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.png")
	nan := float32(math.NaN())
	for _, c := range []struct {
		err  error
		want string
	}{
		{LayerStats("m", nil, path), "nothing to plot"},
		{LayerCodecs("m", nil, path), "nothing to plot"},
		{HeatMap("t", "s", Grid{}, path), "nothing to plot"},
		{Histogram("t", nil, 10, path), "nothing to plot"},
		{HeatMap("t", "s", Grid{Rows: []string{"r"}, Cols: []string{"c"}}, path), "0 rows of values"},
		{HeatMap("t", "s", Grid{Rows: []string{"r"}, Cols: []string{"c"}, Z: [][]float64{{1, 2}}}, path), `row "r" has 2 values`},
		{Histogram("t", []float32{nan, nan}, 10, path), "all 2 values are NaN or infinite"},
		{Histogram("t", []float32{1}, 0, path), "0 bins"},
	} {
		checkOneLine(t, c.err, c.want)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a refused picture wrote a file")
	}
}

// An infinite or NaN error is capped a tenth above the largest finite
// one, its layer marked.
func TestCapInfinite(t *testing.T) {
	names := []string{"a", "b", "c"}
	finite := 0.01
	errs := plotter.Values{finite, math.Inf(1), math.NaN()}
	capInfinite(names, errs)
	if want := 1.1 * finite; errs[1] != want || errs[2] != want || names[1] != "b (error +Inf)" || names[2] != "c (error NaN)" {
		t.Errorf("capped to %v %v", errs, names)
	}
}

// capInfinite caps every series at a tenth above the largest finite value
// of all of them.
func TestCapInfiniteAcrossSeries(t *testing.T) {
	names := []string{"a", "b"}
	s1, s2 := plotter.Values{0.5, math.Inf(1)}, plotter.Values{2, 0}
	capInfinite(names, s1, s2)
	if s1[1] != 2.2 || names[1] != "b (error +Inf)" || names[0] != "a" {
		t.Errorf("capped to %v %v", s1, names)
	}
}

// firstSeen and keys number names in the order they first appear.
func TestFirstSeen(t *testing.T) {
	parts := []LayerCodec{{Layer: "b", Codec: "x"}, {Layer: "a", Codec: "x"}, {Layer: "b", Codec: "y"}}
	got := keys(firstSeen(parts, func(p LayerCodec) string { return p.Layer }))
	if strings.Join(got, ",") != "b,a" {
		t.Errorf("layers %v", got)
	}
}

// logGrid puts the first row on top and moves 0 below the scale and
// infinite or negative values above it.
func TestLogGrid(t *testing.T) {
	g := logGrid{{100, 0}, {math.Inf(1), -2}, {math.NaN(), 0.01}}
	if c, r := g.Dims(); c != 2 || r != 3 {
		t.Fatalf("dims %d×%d", c, r)
	}
	if g.Z(0, 2) != 2 || !math.IsInf(g.Z(1, 2), -1) || !math.IsInf(g.Z(0, 1), 1) || !math.IsInf(g.Z(1, 1), 1) || !math.IsNaN(g.Z(0, 0)) || g.Z(1, 0) != -2 {
		t.Errorf("logGrid values wrong")
	}
	if lo, hi := logRange(g); lo != -2 || hi != 2 {
		t.Errorf("range %g..%g", lo, hi)
	}
	if lo, hi := logRange([][]float64{{0, math.NaN()}}); lo != -3 || hi != 0 {
		t.Errorf("range of nothing %g..%g", lo, hi)
	}
	if lo, hi := logRange([][]float64{{10}}); lo != 0.5 || hi != 1.5 {
		t.Errorf("range of one value %g..%g", lo, hi)
	}
}

// powerTicks labels 1, 2 and 5·10ᵏ over up to three decades, only 10ᵏ
// over more, and falls back to default places on a short axis.
func TestPowerTicks(t *testing.T) {
	labels := func(lo, hi float64) string {
		var out []string
		for _, tk := range (powerTicks{}).Ticks(lo, hi) {
			if tk.Label != "" {
				out = append(out, tk.Label)
			}
		}
		return strings.Join(out, " ")
	}
	if got := labels(-3, -1); got != "0.001 0.002 0.005 0.01 0.02 0.05 0.1" {
		t.Errorf("three decades: %q", got)
	}
	if got := labels(-8, 0); got != "1e-08 1e-07 1e-06 1e-05 0.0001 0.001 0.01 0.1 1" {
		t.Errorf("eight decades: %q", got)
	}
	if got := labels(-2.25, -2.1); !strings.Contains(got, "0.0063") {
		t.Errorf("short axis: %q", got)
	}
}

// binValues puts the largest value in the last bin and counts only finite
// values; summarize leaves the others out.
func TestBinValues(t *testing.T) {
	v := []float32{0, 1, 2, 3, 4, float32(math.Inf(1))}
	s := summarize(v)
	if s.n != 5 || s.nonFinite != 1 || s.lo != 0 || s.hi != 4 || s.mean != 2 || s.variance != 2 {
		t.Fatalf("summary %+v", s)
	}
	bins := binValues(v, s, 2)
	if bins[0].Weight != 2 || bins[1].Weight != 3 || bins[1].Max != 4 {
		t.Errorf("bins %+v", bins)
	}
	if binOf(math.Inf(1), 3) != 2 || binOf(math.NaN(), 3) != 2 || binOf(-1e-300, 3) != 0 || binOf(1.5, 3) != 1 {
		t.Error("binOf out of range")
	}
	if !strings.Contains(s.String(), "1 NaN or infinite left out") {
		t.Errorf("label %q", s.String())
	}
}

// A picture that cannot be written is a one-line error naming the path,
// not the temporary file, and leaves nothing behind.
func TestUnwritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		filepath.Join(dir, "missing", "x.png"): "no such file or directory",
		filepath.Join(file, "x.png"):           "not a directory",
		dir:                                    "it is a folder",
	} {
		checkOneLine(t, Writable(path), "cannot write "+path+": "+want)
		checkOneLine(t, Histogram("t", []float32{1, 2}, 2, path), "cannot write "+path)
	}
	if err := Writable(filepath.Join(dir, "ok.png")); err != nil {
		t.Error(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}
