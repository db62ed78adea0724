package merge

import "math"

// ModelStock writes mergekit's model_stock merge of in onto base to out,
// treating each whole tensor as one vector (filter_wise = false):
//
//	oᵢ   = inᵢ − base
//	cos  = mean over pairs i < k of clamp(oᵢ·oₖ / max(‖oᵢ‖‖oₖ‖, 1e-6), −1, 1)
//	t    = N·cos / (1 + (N−1)·cos)       (N = len(in))
//	out  = t·mean(in) + (1−t)·base
//
// It needs at least 2 inputs besides the base. When |1 + (N−1)·cos| is
// below 1e-6 (cos at or next to −1/(N−1), where mergekit divides by zero,
// or by a rounding error, and returns Inf, NaN or noise amplified a
// million-fold) t is taken as 0 and out is base.
func ModelStock(out, base []float32, in [][]float32) error {
	const name = "model_stock"
	if err := checkInputCount(name, len(in), 2, -1); err != nil {
		return err
	}
	if err := checkLengths(name, out, base, true, in); err != nil {
		return err
	}
	if err := checkFinite(name, base, in); err != nil {
		return err
	}
	n := len(in)
	// gram[i*n+k] = oᵢ·oₖ for i <= k, in one pass over the elements.
	gram := make([]float64, n*n)
	o := make([]float64, n)
	for j := range base {
		b := float64(base[j])
		for i, x := range in {
			o[i] = float64(x[j]) - b
		}
		for i := range n {
			for k := i; k < n; k++ {
				gram[i*n+k] += o[i] * o[k]
			}
		}
	}
	var cos float64
	pairs := 0
	for i := range n {
		for k := i + 1; k < n; k++ {
			norms := math.Sqrt(gram[i*n+i]) * math.Sqrt(gram[k*n+k])
			c := gram[i*n+k] / max(norms, 1e-6)
			cos += max(-1, min(1, c))
			pairs++
		}
	}
	cos /= float64(pairs)
	t := 0.0
	if den := 1 + float64(n-1)*cos; math.Abs(den) >= 1e-6 {
		t = float64(n) * cos / den
	}
	bad := false
	for j := range out {
		var sum float64
		for _, x := range in {
			sum += float64(x[j])
		}
		avg := sum / float64(n)
		v := float32(t*avg + (1-t)*float64(base[j]))
		bad = bad || v-v != 0
		out[j] = v
	}
	if bad {
		return resultError(name, out)
	}
	return nil
}
