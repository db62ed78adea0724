//go:build !amd64 || purego

package kernel

// kernelConfigs lists the code paths the table tests run through: only the
// portable loops exist on this build.
func kernelConfigs() []kernelConfig {
	return []kernelConfig{{"generic", forceNT(false)}}
}
