//go:build amd64 && !purego

package kernel

// kernelConfigs lists the code paths the table tests run through: the AVX2
// assembly with ordinary and with non-temporal stores (when the CPU has
// AVX2+FMA), and the portable loops behind the same dispatch.
func kernelConfigs() []kernelConfig {
	generic := kernelConfig{"generic", func() func() {
		saved := useAVX2
		useAVX2 = false
		return func() { useAVX2 = saved }
	}}
	if !useAVX2 {
		return []kernelConfig{generic}
	}
	return []kernelConfig{
		{"avx2", forceNT(false)},
		{"avx2-nt", forceNT(true)},
		generic,
	}
}
