package merge

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// patterns returns arrays that stress a quickselect: random, few distinct
// values, all equal, sorted, reversed and organ-pipe.
func patterns(r *rand.Rand, n int) map[string][]float64 {
	p := map[string][]float64{}
	mk := func(name string, f func(j int) float64) {
		a := make([]float64, n)
		for j := range a {
			a[j] = f(j)
		}
		p[name] = a
	}
	mk("random", func(int) float64 { return r.NormFloat64() })
	mk("few", func(int) float64 { return float64(r.IntN(3)) })
	mk("equal", func(int) float64 { return 0.5 })
	mk("sorted", func(j int) float64 { return float64(j) })
	mk("reversed", func(j int) float64 { return float64(n - j) })
	mk("organ", func(j int) float64 { return float64(min(j, n-j)) })
	mk("octaves", func(int) float64 { return math.Ldexp(1+r.Float64(), r.IntN(80)-40) })
	mk("zeros", func(j int) float64 {
		if j%10 == 0 {
			return float64(j)
		}
		return 0
	})
	return p
}

func TestSelectKth(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 5, 16, 17, 100, 1000} {
		for name, a := range patterns(r, n) {
			sorted := slices.Clone(a)
			slices.Sort(sorted)
			for _, idx := range []int{0, n / 3, n / 2, n - 1} {
				work := slices.Clone(a)
				if got := selectKth(work, idx); got != sorted[idx] {
					t.Fatalf("%s n=%d idx=%d: got %v, want %v", name, n, idx, got, sorted[idx])
				}
			}
		}
	}
}

// TestTopKStable checks that topK keeps exactly int(density·n) elements:
// those a stable sort by descending magnitude puts first. The sizes cover
// both the direct selection (n <= smallTopK) and the histogram.
func TestTopKStable(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	sizes := []int{1, 2, 10, 99, 1000, smallTopK, smallTopK + 1, 150000}
	if testing.Short() {
		sizes = sizes[:6]
	}
	for _, n := range sizes {
		for name, a := range patterns(r, n) {
			base := make([]float32, n)
			x := make([]float32, n)
			for j, v := range a {
				base[j] = float32(r.IntN(5))
				if j%2 == 0 {
					v = -v
				}
				x[j] = base[j] + float32(v)
			}
			mags := make([]float64, n)
			for j := range x {
				mags[j] = math.Abs(float64(x[j]) - float64(base[j]))
			}
			order := make([]int, n)
			for j := range order {
				order[j] = j
			}
			slices.SortStableFunc(order, func(p, q int) int { return cmp.Compare(mags[q], mags[p]) })
			for _, d := range []float64{0, 0.01, 0.1, 0.5, 0.77, 0.999, 1} {
				var k keeper
				topK(&k, base, x, d, nil, nil)
				want := make([]bool, n)
				keep := int(d * float64(n))
				if d >= 1 {
					keep = n
				}
				for _, j := range order[:keep] {
					want[j] = true
				}
				for j := range x {
					if got := k.kept(j, float64(x[j])-float64(base[j])); got != want[j] {
						t.Fatalf("%s n=%d density=%v: element %d kept=%v, want %v", name, n, d, j, got, want[j])
					}
				}
			}
		}
	}
}
