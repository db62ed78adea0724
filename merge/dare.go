package merge

// DARE writes mergekit's dare_linear (signConsensus false) or dare_ties
// (signConsensus true) merge of in onto base to out. Each task vector
// δᵢ = inᵢ − base keeps element j iff KeepUniform(p.Seed, i, j) < density
// (all of it when density is 1); with rescale the kept entries are scaled
// to restore δᵢ's L1 norm (or by 1/density with [RescaleInverseDensity]).
// The rest is [TaskArithmetic] for dare_linear and steps 2–4 of [TIES] for
// dare_ties.
//
// p.Weights is required; p.Density defaults to 1, p.Normalize to false,
// p.Rescale to true and p.Lambda to 1. Density 0 returns base.
func DARE(out, base []float32, in [][]float32, p Params, signConsensus bool) error {
	if signConsensus {
		return dareTiesMethod.run(out, base, in, p)
	}
	return dareLinearMethod.run(out, base, in, p)
}
