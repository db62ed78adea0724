package lsm

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/internal/allocbound"
	"github.com/vsdb/vsdb/tensor"
)

// chunkCodecs are every codec a stored chunk may name.
var chunkCodecs = []string{"raw", "lossless", "f16", "bf16", "q8", "q4", LowRank}

// FuzzDecodeChunk feeds DecodeChunk, the decoder of every stored chunk,
// with mutated encodings of every codec and dtype: it never panics, every
// error is one line starting "vsdb: ", and what a small chunk costs is
// bounded by its sizes.
func FuzzDecodeChunk(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := make([]float32, 96)
	for i := range vals {
		vals[i] = float32(r.NormFloat64())
	}
	raw := make([]byte, 4*len(vals))
	tensor.FromFloat32(tensor.F32, vals, raw)
	for ci, name := range chunkCodecs {
		var enc []byte
		switch {
		case name == LowRank:
			enc, _, _ = codec.EncodeLowRank(nil, vals, 12, 8, 2, 0)
		default:
			if c, err := codec.ByName(name); err == nil {
				enc, _ = c.Encode(nil, raw, 4)
			} else if fc, err := codec.FloatCodecByName(name); err == nil {
				enc, _ = fc.EncodeFloats(nil, vals)
			}
		}
		f.Add(uint8(ci), uint8(tensor.F32), uint16(len(vals)), enc)
	}
	f.Fuzz(func(t *testing.T, ci, dtCode uint8, n uint16, enc []byte) {
		name := chunkCodecs[int(ci)%len(chunkCodecs)]
		dt := tensor.DType(dtCode)
		if !dt.Valid() {
			return
		}
		dst := make([]byte, int(n)*dt.Size())
		var err error
		bound := 256<<10 + 8*uint64(len(enc)) + 4*uint64(len(dst)) + 4*uint64(n)
		allocbound.Check(t, name+" DecodeChunk", len(enc), bound, func() { err = DecodeChunk(name, dt, dst, enc) })
		if err != nil && (!strings.HasPrefix(err.Error(), "vsdb: ") || strings.ContainsAny(err.Error(), "\r\n")) {
			t.Fatalf("%s %s: bad error %q", name, dt, err)
		}
	})
}
