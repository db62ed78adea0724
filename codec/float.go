package codec

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// FloatCodec encodes the float32 values of one chunk of a float tensor.
//
// Unlike Codec it works on values, not bytes: the engine widens each chunk
// of a float tensor to float32 before encoding and narrows after decoding.
// The codecs here are lossy (f16, bf16, q8, q4); ErrorSums measures what
// they lose.
type FloatCodec interface {
	Name() string
	// Lossless reports whether decoding returns the exact input.
	Lossless() bool
	// EncodeFloats appends the encoding of vals to dst.
	EncodeFloats(dst []byte, vals []float32) ([]byte, error)
	// DecodeFloats fills vals, whose length is the chunk's element count,
	// from enc; it refuses any enc that does not decode to exactly len(vals)
	// values (no panic on any input).
	DecodeFloats(vals []float32, enc []byte) error
	// BitsPerValue is the nominal storage cost (e.g. 8.5 for q8).
	BitsPerValue() float64
}

var floatRegistry = map[string]FloatCodec{}

func registerFloat(c FloatCodec) { floatRegistry[c.Name()] = c }

// FloatCodecByName returns the float codec called name ("f16", "bf16",
// "q8", "q4"; case does not matter).
func FloatCodecByName(name string) (FloatCodec, error) {
	if c, ok := floatRegistry[strings.ToLower(name)]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("vsdb: unknown float codec %q (known: %s)", name, strings.Join(FloatCodecNames(), ", "))
}

// FloatCodecNames lists the float codecs in alphabetical order.
func FloatCodecNames() []string {
	names := make([]string, 0, len(floatRegistry))
	for n := range floatRegistry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrorSums accumulates the squared error and squared norm so a caller can
// sum over chunks: relative Frobenius error = sqrt(num/den).
//
// num = Σ (orig[i] − decoded[i])², den = Σ orig[i]², both in float64. An
// index where orig is NaN or ±Inf adds nothing when decoded holds the same
// (NaN for NaN, the same infinity for an infinity) and +Inf to num
// otherwise; it never adds to den. If the lengths differ num is +Inf. A
// caller should treat num = den = 0 (an all-zero tensor stored exactly) as
// error 0.
func ErrorSums(orig, decoded []float32) (num, den float64) {
	if len(orig) != len(decoded) {
		return math.Inf(1), 0
	}
	for i, o := range orig {
		x, y := float64(o), float64(decoded[i])
		if math.IsNaN(x) || math.IsInf(x, 0) {
			if !(x == y || (math.IsNaN(x) && math.IsNaN(y))) {
				num = math.Inf(1)
			}
			continue
		}
		d := x - y
		num += d * d
		den += x * x
	}
	return num, den
}

// RelativeError is sqrt(num/den) for sums from ErrorSums, with 0/0 read as 0
// (an all-zero tensor reproduced exactly) and x/0 as +Inf.
func RelativeError(num, den float64) float64 {
	switch {
	case num == 0:
		return 0
	case den == 0:
		return math.Inf(1)
	}
	return math.Sqrt(num / den)
}

// floatVersion is the version byte every float codec layout starts with.
const floatVersion = 1

// checkFloatHeader checks the version byte and total length of an encoding
// of n values whose body takes bodyLen bytes.
func checkFloatHeader(name string, enc []byte, n int, bodyLen int) error {
	if len(enc) == 0 {
		return fmt.Errorf("vsdb: %s chunk is empty, want %d bytes for %d values", name, 1+bodyLen, n)
	}
	if enc[0] != floatVersion {
		return fmt.Errorf("vsdb: %s chunk has version %d, want %d", name, enc[0], floatVersion)
	}
	if len(enc)-1 != bodyLen {
		return fmt.Errorf("vsdb: %s chunk holds %d bytes, want %d for %d values", name, len(enc), 1+bodyLen, n)
	}
	return nil
}
