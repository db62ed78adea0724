package tensor

import (
	"unsafe"
)

// nativeLE reports whether the machine is little-endian, so F32 bytes and
// float32 values share one memory layout and convert by copying.
var nativeLE = func() bool {
	var x uint16 = 1
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// f32Bytes views a float32 slice as its bytes (little-endian machines only).
func f32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}
