package merge

// Params carries a method's options. A nil pointer (or empty slice) means
// "not given": the method then uses mergekit's default for that option, and
// methods that do not accept an option report an error when it is given.
// [Method.Options] lists, per method, which options are accepted and their
// defaults.
type Params struct {
	// Done, when it closes (a context's Done channel), stops a merge early
	// with ErrCancelled: methods look at it between inputs and every 64 Ki
	// elements, so a merge of many large tensors stops within
	// milliseconds. nil never stops. It is not a mergekit option.
	Done <-chan struct{}

	// Weights holds one weight per input (not counting the base), already
	// resolved for the tensor at hand. Required by linear, task_arithmetic,
	// ties, dare_linear and dare_ties; must be empty for slerp and
	// model_stock.
	Weights []float64

	// Normalize divides the (masked) weighted sum by the (masked) sum of
	// the weights. nil = the method's mergekit default: true for linear and
	// ties, false for task_arithmetic, dare_linear and dare_ties.
	Normalize *bool

	// Lambda scales the merged task vector after normalisation
	// (θ_base + λ·Δ). nil = 1. Accepted by task_arithmetic, ties,
	// dare_linear and dare_ties.
	Lambda *float64

	// Density is the fraction of each task vector kept by ties (largest
	// magnitudes) and dare (random), in [0, 1]. nil = 1 (keep everything,
	// mergekit's default).
	Density *float64

	// Densities, when not empty, gives one density per input (mergekit's
	// density is a per-model parameter); Density must then be nil.
	Densities []float64

	// Seed selects DARE's keep-mask; see [KeepProbability]. The zero value
	// is a valid seed.
	Seed uint64

	// T is slerp's interpolation factor in [0, 1] (0 gives the first
	// input, 1 the second). Required by slerp.
	T *float64

	// Rescale rescales each sparsified task vector so that its L1 norm
	// matches the unsparsified one (mergekit's RescaleNorm.l1). nil = the
	// method's mergekit default: false for ties, true for dare_linear and
	// dare_ties.
	Rescale *bool

	// RescaleMode chooses how Rescale rescales: "" or [RescaleL1] matches
	// the L1 norm (mergekit today); [RescaleInverseDensity] multiplies the
	// kept entries by 1/density (the DARE paper, older mergekit).
	RescaleMode RescaleMode
}

// RescaleMode names a way of rescaling a sparsified task vector; the zero
// value means [RescaleL1].
type RescaleMode string

const (
	// RescaleL1 scales the kept entries by ‖δ‖₁/‖mask·δ‖₁, left unscaled
	// when either norm is below 1e-7 (mergekit's rescaled_masked_tensor).
	RescaleL1 RescaleMode = "l1"
	// RescaleInverseDensity scales the kept entries by 1/density (the DARE
	// paper; mergekit's bernoulli before it adopted RescaleNorm).
	RescaleInverseDensity RescaleMode = "inverse_density"
)

// Bool returns a pointer to b, for the optional fields of [Params].
func Bool(b bool) *bool { return &b }

// Float returns a pointer to f, for the optional fields of [Params].
func Float(f float64) *float64 { return &f }
