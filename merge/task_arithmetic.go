package merge

// TaskArithmetic writes base plus the weighted sum of the task vectors
// inᵢ − base to out (mergekit's task_arithmetic):
//
//	Δ   = Σᵢ wᵢ·(inᵢ − base)
//	Δ  /= Σᵢ wᵢ                (only with normalize; a sum below 1e-8 in
//	                             magnitude counts as 1)
//	out = base + λ·Δ
//
// p.Weights is required; p.Normalize defaults to false and p.Lambda to 1.
func TaskArithmetic(out, base []float32, in [][]float32, p Params) error {
	return taskArithmeticMethod.run(out, base, in, p)
}
