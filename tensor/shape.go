package tensor

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxElements bounds the element count of one tensor (2^48). It keeps every
// byte-size computation far from int64 overflow.
const MaxElements = int64(1) << 48

// Shape is a tensor's dimensions in row-major order. A nil or empty Shape is
// a scalar (one element); a zero dimension makes the tensor empty.
type Shape []int64

// ErrShape reports an invalid shape.
var ErrShape = errors.New("vsdb: invalid shape")

// Elements returns the number of elements, checking every multiplication so
// that hostile shapes are refused before anything is allocated.
func (s Shape) Elements() (int64, error) {
	n := int64(1)
	for i, d := range s {
		if d < 0 {
			return 0, fmt.Errorf("%w: dimension %d is negative (%d)", ErrShape, i, d)
		}
		if d == 0 {
			n = 0
			continue
		}
		if n != 0 && d > MaxElements/n {
			return 0, fmt.Errorf("%w: %s has more than 2^48 elements", ErrShape, s)
		}
		if n != 0 {
			n *= d
		}
	}
	return n, nil
}

// Bytes returns the byte length of a tensor of this shape and dtype.
func (s Shape) Bytes(d DType) (int64, error) {
	n, err := s.Elements()
	if err != nil {
		return 0, err
	}
	if !d.Valid() {
		return 0, fmt.Errorf("vsdb: invalid dtype %s", d)
	}
	if n > math.MaxInt64/int64(d.Size()) {
		return 0, fmt.Errorf("%w: %s of %s overflows", ErrShape, s, d)
	}
	return n * int64(d.Size()), nil
}

// Equal reports whether two shapes are the same.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// String formats the shape as [d0, d1, ...].
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
