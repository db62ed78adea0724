package merge

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// refCase is one case of testdata/cases.json, written by
// scripts/merge_reference.py.
type refCase struct {
	Name    string      `json:"name"`
	Method  string      `json:"method"`
	Params  refParams   `json:"params"`
	Base    []float32   `json:"base"`
	Inputs  [][]float32 `json:"inputs"`
	Want    []float64   `json:"want"`
	Error   string      `json:"error"`
	hasBase bool
}

// refParams mirrors the params object of a case; absent keys stay nil.
type refParams struct {
	Weights     []float64 `json:"weights"`
	Normalize   *bool     `json:"normalize"`
	Lambda      *float64  `json:"lambda"`
	Density     *float64  `json:"density"`
	Densities   []float64 `json:"densities"`
	Seed        uint64    `json:"seed"`
	T           *float64  `json:"t"`
	Rescale     *bool     `json:"rescale"`
	RescaleMode string    `json:"rescale_mode"`
}

func (r refParams) params() Params {
	return Params{
		Weights: r.Weights, Normalize: r.Normalize, Lambda: r.Lambda,
		Density: r.Density, Densities: r.Densities, Seed: r.Seed, T: r.T,
		Rescale: r.Rescale, RescaleMode: RescaleMode(r.RescaleMode),
	}
}

// loadCases reads a cases file.
func loadCases(t testing.TB, path string) []refCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	cases := make([]refCase, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &cases[i]); err != nil {
			t.Fatalf("%s case %d: %v", path, i, err)
		}
		var probe struct {
			Base json.RawMessage `json:"base"`
		}
		_ = json.Unmarshal(r, &probe)
		cases[i].hasBase = string(probe.Base) != "null"
		if cases[i].hasBase && cases[i].Base == nil {
			cases[i].Base = []float32{}
		}
	}
	return cases
}

// relErr is max|got−want| / max(1, max|want|).
func relErr(got []float32, want []float64) float64 {
	var diff, scale float64 = 0, 1
	for j, w := range want {
		diff = max(diff, math.Abs(float64(got[j])-w))
		scale = max(scale, math.Abs(w))
	}
	return diff / scale
}

// TestReferenceCases replays every case of testdata/cases.json through the
// registry and compares with NumPy's float64 result within 1e-6 relative.
func TestReferenceCases(t *testing.T) {
	cases := loadCases(t, "testdata/cases.json")
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			seen[c.Method] = true
			m, err := Lookup(c.Method)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			if len(c.Inputs) > 0 {
				n = len(c.Inputs[0])
			}
			out := make([]float32, n)
			var base []float32
			if c.hasBase {
				base = c.Base
			}
			err = m.Run(out, base, c.Inputs, c.Params.params())
			if c.Error != "" {
				if err == nil || !strings.Contains(err.Error(), c.Error) {
					t.Fatalf("error %v, want one containing %q", err, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Want) != n {
				t.Fatalf("want has %d elements, out %d", len(c.Want), n)
			}
			if e := relErr(out, c.Want); e > 1e-6 {
				t.Fatalf("relative error %g > 1e-6\n got %v\nwant %v", e, out, c.Want)
			}
		})
	}
	for _, name := range Names() {
		if !seen[name] {
			t.Errorf("no reference case for %s", name)
		}
	}
}

// TestAliasing checks that out may be the same slice as the base or an
// input.
func TestAliasing(t *testing.T) {
	for _, c := range loadCases(t, "testdata/cases.json") {
		if c.Error != "" || len(c.Want) == 0 {
			continue
		}
		m, _ := Lookup(c.Method)
		targets := len(c.Inputs)
		if c.hasBase {
			targets++
		}
		for k := range targets {
			base := append([]float32(nil), c.Base...)
			if !c.hasBase {
				base = nil
			}
			in := make([][]float32, len(c.Inputs))
			for i, x := range c.Inputs {
				in[i] = append([]float32(nil), x...)
			}
			var out []float32
			if k < len(in) {
				out = in[k]
			} else {
				out = base
			}
			if err := m.Run(out, base, in, c.Params.params()); err != nil {
				t.Fatalf("%s aliased to %d: %v", c.Name, k, err)
			}
			if e := relErr(out, c.Want); e > 1e-6 {
				t.Fatalf("%s aliased to %d: relative error %g", c.Name, k, e)
			}
		}
	}
}
