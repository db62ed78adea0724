package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"

	"github.com/vsdb/vsdb/tensor"
)

// ggmlType is a ggml tensor type (enum ggml_type).
type ggmlType uint32

const (
	typeF32  ggmlType = 0
	typeF16  ggmlType = 1
	typeQ4_0 ggmlType = 2
	typeQ8_0 ggmlType = 8
	typeI8   ggmlType = 24
	typeI16  ggmlType = 25
	typeI32  ggmlType = 26
	typeI64  ggmlType = 27
	typeF64  ggmlType = 28
	typeBF16 ggmlType = 30
)

// typeInfo describes a ggml type: its name, block (elements per block and
// bytes per block) and the dtype vsdb reads it as (Invalid: refused).
type typeInfo struct {
	name       string
	block      int64
	blockBytes int64
	dtype      tensor.DType
}

const qk = 256 // QK_K, the super-block of the K-quants

// ggmlTypes lists every type of ggml's enum (ids 4 and 5, Q4_2 and Q4_3,
// were removed from ggml long ago; later gaps are unassigned or retired).
var ggmlTypes = map[ggmlType]typeInfo{
	typeF32:  {"F32", 1, 4, tensor.F32},
	typeF16:  {"F16", 1, 2, tensor.F16},
	typeQ4_0: {"Q4_0", 32, 2 + 16, tensor.F32},
	3:        {"Q4_1", 32, 2 + 2 + 16, tensor.Invalid},
	6:        {"Q5_0", 32, 2 + 4 + 16, tensor.Invalid},
	7:        {"Q5_1", 32, 2 + 2 + 4 + 16, tensor.Invalid},
	typeQ8_0: {"Q8_0", 32, 2 + 32, tensor.F32},
	9:        {"Q8_1", 32, 4 + 4 + 32, tensor.Invalid},
	10:       {"Q2_K", qk, 2 + 2 + qk/16 + qk/4, tensor.Invalid},
	11:       {"Q3_K", qk, 2 + qk/4 + qk/8 + 12, tensor.Invalid},
	12:       {"Q4_K", qk, 2 + 2 + qk/2 + 12, tensor.Invalid},
	13:       {"Q5_K", qk, 2 + 2 + qk/2 + qk/8 + 12, tensor.Invalid},
	14:       {"Q6_K", qk, 2 + qk/2 + qk/4 + qk/16, tensor.Invalid},
	15:       {"Q8_K", qk, 4 + qk + qk/8, tensor.Invalid},
	16:       {"IQ2_XXS", qk, 2 + qk/4, tensor.Invalid},
	17:       {"IQ2_XS", qk, 2 + qk/4 + qk/32, tensor.Invalid},
	18:       {"IQ3_XXS", qk, 2 + qk/4 + qk/8, tensor.Invalid},
	19:       {"IQ1_S", qk, 2 + qk/8 + qk/16, tensor.Invalid},
	20:       {"IQ4_NL", 32, 2 + 16, tensor.Invalid},
	21:       {"IQ3_S", qk, 2 + qk/4 + qk/8 + qk/32 + 4, tensor.Invalid},
	22:       {"IQ2_S", qk, 2 + qk/4 + qk/16, tensor.Invalid},
	23:       {"IQ4_XS", qk, 2 + 2 + qk/2 + qk/64, tensor.Invalid},
	typeI8:   {"I8", 1, 1, tensor.I8},
	typeI16:  {"I16", 1, 2, tensor.I16},
	typeI32:  {"I32", 1, 4, tensor.I32},
	typeI64:  {"I64", 1, 8, tensor.I64},
	typeF64:  {"F64", 1, 8, tensor.F64},
	29:       {"IQ1_M", qk, qk/8 + qk/16 + qk/32, tensor.Invalid},
	typeBF16: {"BF16", 1, 2, tensor.BF16},
	34:       {"TQ1_0", qk, 2 + 4*13, tensor.Invalid},
	35:       {"TQ2_0", qk, 2 + 64, tensor.Invalid},
	39:       {"MXFP4", 32, 1 + 16, tensor.Invalid},
}

func (t ggmlType) info() (typeInfo, bool) {
	info, ok := ggmlTypes[t]
	return info, ok
}

func (t ggmlType) String() string {
	if info, ok := ggmlTypes[t]; ok {
		return info.name
	}
	return fmt.Sprintf("type %d", uint32(t))
}

func supportedTypes() string {
	var names []string
	for _, t := range []ggmlType{typeF32, typeF16, typeBF16, typeF64, typeI8, typeI16, typeI32, typeI64, typeQ8_0, typeQ4_0} {
		names = append(names, t.String())
	}
	return strings.Join(names, ", ")
}

// f16 maps every IEEE half-precision bit pattern to its float32 value.
var f16 = sync.OnceValue(func() *[1 << 16]float32 {
	var tab [1 << 16]float32
	src := make([]byte, 2<<16)
	for i := range 1 << 16 {
		binary.LittleEndian.PutUint16(src[2*i:], uint16(i))
	}
	tensor.ToFloat32(tensor.F16, src, tab[:])
	return &tab
})

// blocksPerChunk is how many blocks a dequantizer decodes at a time
// (128 KiB of float32 output per 1024 blocks).
const blocksPerChunk = 8192

// dequantizer streams a Q8_0 or Q4_0 tensor as little-endian float32.
type dequantizer struct {
	src   io.ReadCloser
	typ   ggmlType
	bb    int64 // bytes per block
	left  int64 // stored bytes not yet read
	in    []byte
	out   []byte
	avail []byte // decoded bytes not yet served
	err   error
}

func newDequantizer(src io.ReadCloser, typ ggmlType, nbytes int64) *dequantizer {
	info, _ := typ.info()
	return &dequantizer{src: src, typ: typ, bb: info.blockBytes, left: nbytes}
}

func (d *dequantizer) Read(p []byte) (int, error) {
	for len(d.avail) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		d.err = d.fill()
	}
	n := copy(p, d.avail)
	d.avail = d.avail[n:]
	return n, nil
}

// fill decodes the next chunk of blocks into d.avail.
func (d *dequantizer) fill() error {
	if d.left == 0 {
		return io.EOF
	}
	if d.in == nil {
		nb := min(d.left/d.bb, blocksPerChunk)
		d.in = make([]byte, nb*d.bb)
		d.out = make([]byte, nb*32*4)
	}
	in := d.in[:min(d.left, int64(len(d.in)))]
	if _, err := io.ReadFull(d.src, in); err != nil {
		return err
	}
	d.left -= int64(len(in))
	nb := len(in) / int(d.bb)
	out := d.out[:nb*32*4]
	tab := f16()
	le := binary.LittleEndian
	switch d.typ {
	case typeQ8_0:
		for b := range nb {
			blk := in[b*34 : b*34+34]
			scale := tab[le.Uint16(blk)]
			o := out[b*128 : b*128+128]
			for j, q := range blk[2:34] {
				le.PutUint32(o[4*j:], math.Float32bits(float32(int8(q))*scale))
			}
		}
	case typeQ4_0:
		for b := range nb {
			blk := in[b*18 : b*18+18]
			scale := tab[le.Uint16(blk)]
			o := out[b*128 : b*128+128]
			for j, q := range blk[2:18] {
				le.PutUint32(o[4*j:], math.Float32bits(float32(int(q&0x0f)-8)*scale))
				le.PutUint32(o[4*(j+16):], math.Float32bits(float32(int(q>>4)-8)*scale))
			}
		}
	}
	d.avail = out
	return nil
}

// Close implements io.Closer; it does not close the file.
func (d *dequantizer) Close() error { return d.src.Close() }
