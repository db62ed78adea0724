package engine

import (
	"fmt"
	"math"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/planner"
	"github.com/vsdb/vsdb/tensor"
)

// lowRankCodec stores one whole tensor, viewed as an m×n matrix (its first
// dimension by the product of the rest), as low-rank factors. It is a
// codec.FloatCodec for one tensor's shape, so chunkCodec.encode handles
// deltas, decoding and the error measurement exactly as for the per-chunk
// float codecs; the tensor is then stored as a single chunk.
type lowRankCodec struct {
	m, n int
	// rank > 0 stores that rank; otherwise the smallest rank up to maxRank
	// whose error is within budget.
	rank    int
	budget  float64
	maxRank int
	// refNorm, when not 0, is the norm the budget is relative to: the
	// fine-tune's, when the codec encodes its delta against a base (the
	// budget bounds the error of what reads return, not of the delta).
	refNorm float64
}

func (c lowRankCodec) Name() string   { return lsm.LowRank }
func (c lowRankCodec) Lossless() bool { return false }

// BitsPerValue is the cost at the largest rank the codec may use.
func (c lowRankCodec) BitsPerValue() float64 {
	k := c.rank
	if k == 0 {
		k = c.maxRank
	}
	return 16 * float64(k) * float64(c.m+c.n) / (float64(c.m) * float64(c.n))
}

func (c lowRankCodec) EncodeFloats(dst []byte, vals []float32) ([]byte, error) {
	if c.rank > 0 {
		enc, _, err := codec.EncodeLowRank(dst, vals, c.m, c.n, c.rank, 0)
		return enc, err
	}
	budget := c.budget
	if nv := norm(vals); c.refNorm > 0 && nv > 0 {
		budget *= c.refNorm / nv
	}
	enc, _, err := codec.EncodeLowRankWithin(dst, vals, c.m, c.n, budget, c.maxRank)
	return enc, err
}

// norm is the Frobenius norm of v.
func norm(v []float32) float64 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	return math.Sqrt(ss)
}

func (c lowRankCodec) DecodeFloats(vals []float32, enc []byte) error {
	return codec.DecodeLowRank(vals, enc, c.m, c.n)
}

// matrixView returns the m×n matrix a tensor of shape s is stored as in
// low rank: its first dimension by the product of the rest; ok is false
// for tensors of fewer than 2 dimensions or with a dimension below 2.
func matrixView(s tensor.Shape) (m, n int, ok bool) {
	if len(s) < 2 || s[0] < 2 {
		return 0, 0, false
	}
	n = 1
	for _, d := range s[1:] {
		n *= int(d)
	}
	return int(s[0]), n, n >= 2
}

// lowRankBreakEven is the largest rank whose encoding of an m×n matrix is
// smaller than bytes (a header of 14 bytes, then 2 bytes per factor value).
func lowRankBreakEven(m, n int, bytes float64) int {
	k := int((bytes - 15) / float64(2*(m+n)))
	return max(0, min(k, m, n))
}

// encodeLowRank encodes a whole tensor in low rank as one chunk into the
// load and returns its record's storage fields; ok is false (and nothing
// is written) when c cannot store it (no rank meets the budget).
func encodeLowRank(load *lsm.Load, id uint32, c lowRankCodec, data []byte, dt tensor.DType, base []byte) (rec lsm.TensorRecord, ok bool, err error) {
	if base != nil && c.rank == 0 {
		vals := make([]float32, len(data)/dt.Size())
		if err := tensor.ToFloat32(dt, data, vals); err != nil {
			return rec, false, err
		}
		c.refNorm = norm(vals)
	}
	cc := chunkCodec{name: lsm.LowRank, float: c}
	out, err := cc.encode(nil, data, dt, base)
	if err != nil {
		return rec, false, nil
	}
	if e := codec.RelativeError(out.num, out.den); c.rank == 0 && e > c.budget {
		return rec, false, nil // narrowing to dt pushed it over
	}
	if err := load.PutChunk(id, 0, out.enc); err != nil {
		return rec, false, err
	}
	rec = lowRankRecord(id, out.enc, int64(len(data)))
	rec.RelError = codec.RelativeError(out.num, out.den)
	if base != nil {
		rec.Delta = lsm.DeltaSub
	}
	return rec, true, nil
}

// lowRankRecord fills the storage fields of a tensor stored as the single
// low-rank chunk enc (no RawCRC: see lsm.TensorRecord).
func lowRankRecord(id uint32, enc []byte, rawBytes int64) lsm.TensorRecord {
	_, _, k, _ := codec.LowRankShape(enc)
	return lsm.TensorRecord{ID: id, Codec: lsm.LowRank, RawBytes: rawBytes, Stored: int64(len(enc)),
		ChunkBytes: rawBytes, ChunkCRCs: []uint32{codec.Checksum(enc)}, Rank: k}
}

// lowRankFor returns the low-rank codec the picker would try on a tensor of
// shape s and dtype dt whose alternative encoding takes altBytes; ok is
// false when low rank cannot apply or cannot be smaller.
func (p *codecPicker) lowRankFor(s tensor.Shape, dt tensor.DType, altBytes float64) (lowRankCodec, bool) {
	m, n, ok := matrixView(s)
	if !ok || !dt.IsFloat() {
		return lowRankCodec{}, false
	}
	maxRank := lowRankBreakEven(m, n, altBytes)
	c := lowRankCodec{m: m, n: n, rank: p.rank, budget: p.budget, maxRank: maxRank}
	if p.rank > 0 {
		return c, p.rank <= maxRank
	}
	return c, maxRank >= 1
}

func checkLowRankOptions(rank int, budget float64) error {
	if rank < 0 {
		return fmt.Errorf("vsdb: low-rank rank must be 1 or more, got %d", rank)
	}
	if rank > 0 && budget > 0 {
		return fmt.Errorf("vsdb: codec lowrank takes a rank or an error budget, not both")
	}
	if rank == 0 && budget == 0 {
		return fmt.Errorf("vsdb: codec lowrank needs a rank or an error budget (e.g. CODEC lowrank(rank = 8) or lowrank(budget = 0.01))")
	}
	return nil
}

// Factors reads the stored factors of a low-rank tensor (its delta's, for
// a delta), for FUSE in factored space.
func (s *snapshot) Factors(t TensorInfo) (planner.Factors, error) {
	rec, err := s.record(t)
	if err != nil {
		return planner.Factors{}, err
	}
	if rec.Codec != lsm.LowRank || rec.Chunks() != 1 {
		return planner.Factors{}, fmt.Errorf("vsdb: tensor %s is not stored in low rank", t.Ref())
	}
	s.db.store.CountRead(rec.ID, 1)
	var f planner.Factors
	err = s.r.ChunkFunc(&rec, 0, func(enc []byte) error {
		var err error
		f.U, f.Vt, f.M, f.N, f.K, err = codec.LowRankFactors(enc)
		return err
	})
	if err != nil {
		return planner.Factors{}, inModel(t.Model, fmt.Errorf("vsdb: tensor %q: %s", t.Name, trimVsdb(err)))
	}
	return f, nil
}

// MulFactors sets dst to f.U · f.Vt.
func (s *snapshot) MulFactors(dst []float32, f planner.Factors) error {
	return codec.MulFactors(dst, f.U, f.Vt, f.M, f.N, f.K)
}
