package engine

import "strings"

// SplitName splits a tensor name into layer and parameter: the layer is the
// name up to and including its first all-digit component
// ("model.layers.12.mlp.up_proj.weight" → "model.layers.12",
// "mlp.up_proj.weight"); a name without one is grouped by its first
// component ("embeddings.LayerNorm.weight" → "embeddings", "LayerNorm.weight");
// a one-component name has no layer.
func SplitName(name string) (layer, param string) {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		if isDigits(p) {
			return strings.Join(parts[:i+1], "."), strings.Join(parts[i+1:], ".")
		}
	}
	if len(parts) == 1 {
		return "", name
	}
	return parts[0], strings.Join(parts[1:], ".")
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
