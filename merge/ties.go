package merge

// TIES writes mergekit's ties merge of in onto base to out:
//
//  1. trim: each task vector δᵢ = inᵢ − base keeps its k = int(density·n)
//     largest magnitudes (all of it when density is 1; none when k is 0);
//     among equal magnitudes at the cut the lowest indexes win. With
//     rescale the kept entries are scaled to restore δᵢ's L1 norm.
//  2. elect: per element, the majority sign is that of Σᵢ wᵢ·δᵢ, with a
//     sum of exactly 0 counting as +.
//  3. merge: Δ = Σ wᵢ·δᵢ over the inputs whose wᵢ·δᵢ has the majority sign
//     (zeros never do), divided, with normalize, by the Σ wᵢ over the same
//     inputs (a divisor of exactly 0 counts as 1).
//  4. out = base + λ·Δ.
//
// p.Weights is required; p.Density defaults to 1, p.Normalize to true,
// p.Rescale to false and p.Lambda to 1. Density 0 returns base.
func TIES(out, base []float32, in [][]float32, p Params) error {
	return tiesMethod.run(out, base, in, p)
}
