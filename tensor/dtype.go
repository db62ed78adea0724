package tensor

import (
	"fmt"
	"strings"
)

// DType is the element type of a tensor. The names are safetensors' names.
type DType uint8

// The dtypes vsdb stores. The zero value is Invalid.
const (
	Invalid DType = iota
	F64
	F32
	F16
	BF16
	F8E4M3
	F8E5M2
	I64
	I32
	I16
	I8
	U64
	U32
	U16
	U8
	Bool
)

type dtypeInfo struct {
	name  string
	size  int
	float bool
}

var dtypes = [...]dtypeInfo{
	Invalid: {"INVALID", 0, false},
	F64:     {"F64", 8, true},
	F32:     {"F32", 4, true},
	F16:     {"F16", 2, true},
	BF16:    {"BF16", 2, true},
	F8E4M3:  {"F8_E4M3", 1, true},
	F8E5M2:  {"F8_E5M2", 1, true},
	I64:     {"I64", 8, false},
	I32:     {"I32", 4, false},
	I16:     {"I16", 2, false},
	I8:      {"I8", 1, false},
	U64:     {"U64", 8, false},
	U32:     {"U32", 4, false},
	U16:     {"U16", 2, false},
	U8:      {"U8", 1, false},
	Bool:    {"BOOL", 1, false},
}

// String returns the safetensors name of the dtype, e.g. "F32".
func (d DType) String() string {
	if int(d) < len(dtypes) {
		return dtypes[d].name
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size is the number of bytes of one element (0 for Invalid).
func (d DType) Size() int {
	if int(d) < len(dtypes) {
		return dtypes[d].size
	}
	return 0
}

// IsFloat reports whether the dtype is a floating-point type that FUSE
// can compute with.
func (d DType) IsFloat() bool {
	return int(d) < len(dtypes) && dtypes[d].float
}

// Valid reports whether d is a known dtype.
func (d DType) Valid() bool { return d != Invalid && int(d) < len(dtypes) }

// ParseDType maps a safetensors dtype name ("F32", "BF16", "F8_E4M3", ...)
// to a DType. Names are matched exactly, as safetensors does.
func ParseDType(name string) (DType, error) {
	for i, info := range dtypes {
		if i != int(Invalid) && info.name == name {
			return DType(i), nil
		}
	}
	return Invalid, fmt.Errorf("vsdb: unknown dtype %q (known: %s)", name, knownNames())
}

func knownNames() string {
	names := make([]string, 0, len(dtypes)-1)
	for i, info := range dtypes {
		if i != int(Invalid) {
			names = append(names, info.name)
		}
	}
	return strings.Join(names, ", ")
}

// MaxFinite is the largest finite value of a floating dtype (0 for others):
// a float32 result beyond it would become ±Inf or NaN when narrowed.
func (d DType) MaxFinite() float64 {
	switch d {
	case F16:
		return 65504
	case BF16:
		return 3.3895313892515355e38
	case F8E4M3:
		return 448
	case F8E5M2:
		return 57344
	case F32:
		return 3.4028234663852886e38
	case F64:
		return 1.7976931348623157e308
	}
	return 0
}
