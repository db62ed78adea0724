package planner

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/vsdb/vsdb/query"
	"github.com/vsdb/vsdb/tensor"
)

func ramp(n int, start, step float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = start + step*float32(i)
	}
	return v
}

// fixture is a small two-model catalog shaped like a BERT encoder.
func fixture() *memStorage {
	m := newMem()
	for _, model := range []string{"a", "b"} {
		off := float32(0)
		if model == "b" {
			off = 100
		}
		m.add(model, "embeddings.word.weight", tensor.F32, tensor.Shape{8, 4}, ramp(32, off, 1))
		for l := 0; l < 2; l++ {
			p := fmt.Sprintf("encoder.layer.%d.", l)
			m.add(model, p+"attn.weight", tensor.F32, tensor.Shape{4, 4}, ramp(16, off+float32(l), 0.5))
			m.add(model, p+"attn.bias", tensor.F16, tensor.Shape{4}, ramp(4, off+float32(l), 0.25))
		}
		m.add(model, "position_ids", tensor.I64, tensor.Shape{1, 4}, ramp(4, 0, 1))
	}
	m.add("c", "encoder.layer.0.attn.weight", tensor.F32, tensor.Shape{2, 8}, ramp(16, 0, 1))
	// A base and two fine-tunes with different vocabulary sizes.
	m.add("base", "embed_tokens.weight", tensor.F32, tensor.Shape{3, 2}, []float32{1, 1, 1, 1, 1, 1})
	m.add("base", "layers.0.w", tensor.F32, tensor.Shape{4}, []float32{1, 2, 3, 4})
	m.add("base", "layers.1.w", tensor.F32, tensor.Shape{4}, []float32{1, 2, 3, 4})
	m.add("ft1", "embed_tokens.weight", tensor.F32, tensor.Shape{4, 2}, []float32{2, 2, 2, 2, 2, 2, 9, 9})
	m.add("ft1", "layers.0.w", tensor.F32, tensor.Shape{4}, []float32{2, 2, 3, 5})
	m.add("ft1", "layers.1.w", tensor.F32, tensor.Shape{4}, []float32{1, 0, 3, 4})
	m.add("ft2", "embed_tokens.weight", tensor.F32, tensor.Shape{3, 2}, []float32{0, 0, 0, 0, 0, 0})
	m.add("ft2", "layers.0.w", tensor.F32, tensor.Shape{4}, []float32{0, 2, 3, 1})
	m.add("ft2", "layers.1.w", tensor.F32, tensor.Shape{4}, []float32{1, 2, 5, 4})
	a := m.models["a"]
	a[1].info.Reads, a[1].info.Tier = 20, "hot"
	a[2].info.Reads, a[2].info.Tier = 3, "warm"
	return m
}

// TestPlanner replays testdata/planner: "explain" prints the plan, "run"
// prints the result table (and values of returned tensors), "error" the
// error. Regenerate with: go test ./planner -rewrite
func TestPlanner(t *testing.T) {
	runGolden(t, "testdata/planner", fixture())
}

// TestPlannerLowRank replays testdata/lowrank against lowRankFixture: FUSE
// in factored space (the low-rank-fusion rule).
func TestPlannerLowRank(t *testing.T) {
	runGolden(t, "testdata/lowrank", lowRankFixture())
}

// TestPlannerTied replays testdata/tied: merges of tied and untied models.
func TestPlannerTied(t *testing.T) {
	runGolden(t, "testdata/tied", tiedFixture())
}

// TestPlannerTier replays testdata/tier against tierFixture: ATTACH,
// DETACH, VACUUM and STATS of a store with an object store.
func TestPlannerTier(t *testing.T) {
	runGolden(t, "testdata/tier", tierFixture())
}

func runGolden(t *testing.T, file string, st *memStorage) {
	datadriven.RunTest(t, file, func(t *testing.T, td *datadriven.TestData) string {
		src := strings.TrimSpace(td.Input)
		stmt, err := query.Parse(src)
		if err != nil {
			return err.Error() + "\n"
		}
		p, err := Build(src, stmt, st)
		if err != nil {
			return err.Error() + "\n"
		}
		switch td.Cmd {
		case "explain":
			return Explain(p)
		case "run":
			res, err := Run(context.Background(), p, st)
			if err != nil {
				return err.Error() + "\n"
			}
			return formatResult(res)
		}
		t.Fatalf("unknown command %s", td.Cmd)
		return ""
	})
}

var elapsed = regexp.MustCompile(`time=\S+`)

func formatResult(r *Result) string {
	var b strings.Builder
	b.WriteString(strings.Join(r.Columns, " | ") + "\n")
	for _, row := range r.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = elapsed.ReplaceAllString(fmt.Sprint(v), "time=(elapsed)")
		}
		b.WriteString(strings.Join(cells, " | ") + "\n")
	}
	for _, t := range r.Tensors {
		v, _ := t.Float32s()
		fmt.Fprintf(&b, "tensor %s %s %s %v\n", t.Name, t.DType, t.Shape, v)
	}
	return b.String()
}

func TestLike(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"encoder.layer.%", "encoder.layer.3", true},
		{"%attn%", "encoder.layer.0.attn.weight", true},
		{"%.bias", "encoder.layer.0.attn.weight", false},
		{"layer_0", "layer100", false},
		{"layer_", "layer1", true},
		{"a*b", "a*b", true},
		{"a*b", "axxb", false},
	}
	for _, c := range cases {
		if got := like(c.pattern, c.s); got != c.want {
			t.Errorf("like(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestFuseInputLimit(t *testing.T) {
	sels := make([]string, MaxFuseInputs+1)
	ws := make([]string, MaxFuseInputs+1)
	for i := range sels {
		sels[i], ws[i] = "a:encoder.layer.0", "1"
	}
	src := "FUSE " + strings.Join(sels, ", ") + " WEIGHTS " + strings.Join(ws, ", ")
	stmt, err := query.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(src, stmt, fixture())
	want := fmt.Sprintf("vsdb: 1:%d: FUSE takes at most %d inputs (%d given)", 6+MaxFuseInputs*len("a:encoder.layer.0, "), MaxFuseInputs, MaxFuseInputs+1)
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}
