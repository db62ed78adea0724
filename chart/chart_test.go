package chart

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot/plotter"
)

func TestLayerStatsWritesAPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "layers.png")
	layers := []Layer{{"embeddings", 100, 80, 0}, {"encoder.layer.0", 100, 25, 0.004}, {"encoder.layer.1", 100, 50, 0.01}}
	if err := LayerStats("m", layers, path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) || len(b) < 1000 {
		t.Fatalf("not a PNG: %d bytes, %v", len(b), err)
	}
	if err := LayerStats("m", nil, path); err == nil {
		t.Error("empty chart accepted")
	}
}

// An infinite or NaN error is drawn as a capped bar with its layer marked,
// not refused.
func TestLayerStatsNonFiniteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "layers.png")
	layers := []Layer{{"a", 100, 80, 0.01}, {"b", 100, 25, math.Inf(1)}, {"c", 100, 50, math.NaN()}}
	if err := LayerStats("m", layers, path); err != nil {
		t.Fatal(err)
	}
	names := []string{"a", "b", "c"}
	finite := 0.01
	errs := plotter.Values{finite, math.Inf(1), math.NaN()}
	capInfinite(names, errs)
	if want := 1.1 * finite; errs[1] != want || errs[2] != want || names[1] != "b (error +Inf)" || names[2] != "c (error NaN)" {
		t.Errorf("capped to %v %v", errs, names)
	}
}
