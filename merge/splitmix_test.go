package merge

import (
	"math"
	"testing"
)

func TestSplitMix64(t *testing.T) {
	// The standard generator seeded with 1234567 returns these first.
	want := []uint64{6457827717110365317, 3203168211198807973, 9817491932198370423}
	state := uint64(1234567)
	for i, w := range want {
		if got := SplitMix64(state); got != w {
			t.Fatalf("output %d: got %d, want %d", i, got, w)
		}
		state += 0x9E3779B97F4A7C15
	}
}

func TestKeepUniform(t *testing.T) {
	if got, want := KeepUniform(5, 3, 7), float64(SplitMix64(5^3<<40^7))/math.Exp2(64); got != want {
		t.Fatalf("KeepUniform(5, 3, 7) = %v, want %v", got, want)
	}
	// The fraction kept is close to the density, and inputs differ.
	const n = 200000
	for _, d := range []float64{0.1, 0.5, 0.9} {
		kept, same := 0, 0
		for j := range n {
			a := KeepUniform(42, 0, j) < d
			b := KeepUniform(42, 1, j) < d
			if a {
				kept++
			}
			if a == b {
				same++
			}
		}
		if f := float64(kept) / n; math.Abs(f-d) > 0.005 {
			t.Errorf("density %v: kept fraction %v", d, f)
		}
		if f, want := float64(same)/n, d*d+(1-d)*(1-d); math.Abs(f-want) > 0.005 {
			t.Errorf("density %v: inputs 0 and 1 agree on %v of elements, want about %v", d, f, want)
		}
	}
}

// TestUniformLimit checks that the integer test the hot loop uses is
// exactly KeepUniform(...) < density.
func TestUniformLimit(t *testing.T) {
	for _, d := range []float64{1e-300, 1e-17, 0.1, 0.3, 0.5, 1.0 / 3, 0.9, 0.999999999, math.Nextafter(1, 0)} {
		zl := uniformLimit(d)
		for _, z := range []uint64{0, 1, zl - 2, zl - 1, zl, zl + 1, zl + 1000, math.MaxUint64} {
			if zl == 0 && z >= math.MaxUint64-1 {
				continue
			}
			got := z < zl
			want := float64(z)/math.Exp2(64) < d
			if got != want {
				t.Errorf("density %v z %d: z < limit %d is %v, u < density is %v", d, z, zl, got, want)
			}
		}
		for j := range 10000 {
			k := keeper{mode: keepRandom, key: 77, zlim: zl}
			if got, want := k.kept(j, 1), KeepUniform(77, 0, j) < d; got != want {
				t.Fatalf("density %v element %d: kept %v, want %v", d, j, got, want)
			}
		}
	}
}
