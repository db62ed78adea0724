package planner

import "testing"

func TestNearest(t *testing.T) {
	cands := []string{"encoder.layer.0", "encoder.layer.1", "embeddings", "pooler"}
	cases := map[string]string{
		"encoder.layr.0":   "encoder.layer.0",
		"embedings":        "embeddings",
		"pooler":           "pooler",
		"decoder.block.12": "",
		"x":                "",
		"pooler2":          "pooler",
	}
	for in, want := range cases {
		if got := nearest(in, cands); got != want {
			t.Errorf("nearest(%q) = %q, want %q", in, got, want)
		}
	}
	if d := editDistance("kitten", "sitting", 10); d != 3 {
		t.Errorf("editDistance = %d, want 3", d)
	}
}
