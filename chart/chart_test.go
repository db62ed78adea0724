package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
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
