package engine

import (
	"fmt"
	"math"
	"sort"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/tensor"
)

// codecPicker decides each tensor's codec: one fixed codec; "auto": the
// smallest encoding whose relative Frobenius error stays within the budget,
// low rank included for matrices; or "lowrank": matrices in low rank at a
// fixed rank, or at the smallest rank within the budget (where no rank
// meets it, what auto would choose), other tensors lossless.
type codecPicker struct {
	fixed   chunkCodec
	auto    bool
	lowRank bool
	rank    int // lowrank: the fixed rank, or 0 for the budget
	budget  float64
}

func newCodecPicker(name string, budget float64, rank int) (*codecPicker, error) {
	if budget < 0 || budget != budget {
		return nil, fmt.Errorf("vsdb: error budget must be 0 or more, got %v", budget)
	}
	if rank != 0 && name != lsm.LowRank {
		return nil, fmt.Errorf("vsdb: a rank applies to the lowrank codec only (codec is %s)", name)
	}
	if budget != 0 && name != "auto" && name != lsm.LowRank {
		return nil, fmt.Errorf("vsdb: an error budget applies to the auto and lowrank codecs only (codec is %s)", name)
	}
	lossless, _ := chunkCodecByName("lossless")
	switch name {
	case "auto":
		return &codecPicker{fixed: lossless, auto: true, budget: budget}, nil
	case lsm.LowRank:
		if err := checkLowRankOptions(rank, budget); err != nil {
			return nil, err
		}
		return &codecPicker{fixed: lossless, lowRank: true, rank: rank, budget: budget}, nil
	}
	c, err := chunkCodecByName(name)
	if err != nil {
		return nil, err
	}
	return &codecPicker{fixed: c}, nil
}

// choose tries the float codecs from the fewest bits per value up on the
// whole tensor and takes the first within the budget; then it encodes the
// tensor losslessly too and keeps whichever is smaller in bytes (a delta
// that is all zeros, or nearly, is far smaller lossless than at q4's 4.5
// bits a value). It returns the codec and the bytes it takes. 16-bit casts
// are skipped for tensors already 16 bits wide or less. With budget 0 it
// returns the fixed codec and the raw size.
func (p *codecPicker) choose(data []byte, dt tensor.DType, base []byte) (chunkCodec, float64, error) {
	if p.budget == 0 {
		return p.fixed, float64(len(data)), nil
	}
	var cands []codec.FloatCodec
	for _, n := range codec.FloatCodecNames() {
		f, _ := codec.FloatCodecByName(n)
		if f.BitsPerValue() < float64(8*dt.Size()) && !(f.BitsPerValue() >= 16 && dt.Size() <= 2) {
			cands = append(cands, f)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].BitsPerValue() < cands[j].BitsPerValue() })
	best, bestSize := p.fixed, math.Inf(1)
	if out, err := p.fixed.encode(nil, data, dt, base); err == nil {
		bestSize = float64(len(out.enc))
	}
	for i := 0; i < len(cands); {
		// Among codecs of equal size take the one with the smaller error.
		j, pick, pickErr, pickSize := i, chunkCodec{}, p.budget, 0.0
		found := false
		for ; j < len(cands) && cands[j].BitsPerValue() == cands[i].BitsPerValue(); j++ {
			c := chunkCodec{name: cands[j].Name(), float: cands[j]}
			e, size, ok := tensorError(c, data, dt, base)
			if ok && e <= pickErr {
				pick, pickErr, pickSize, found = c, e, size, true
			}
		}
		if found {
			if pickSize < bestSize {
				best, bestSize = pick, pickSize
			}
			break
		}
		i = j
	}
	return best, bestSize, nil
}

// tensorError encodes a whole tensor with c and returns its relative error
// and encoded size; ok is false when the codec cannot store it (e.g. f16
// overflow, NaN in q8).
func tensorError(c chunkCodec, data []byte, dt tensor.DType, base []byte) (float64, float64, bool) {
	out, err := c.encode(nil, data, dt, base)
	if err != nil {
		return 0, 0, false
	}
	return codec.RelativeError(out.num, out.den), float64(len(out.enc)), true
}

// wholeTensor reports whether the picker needs a tensor's bytes at once
// (to try codecs on it, or to decompose it) rather than streaming chunks.
func (p *codecPicker) wholeTensor(dt tensor.DType) bool {
	return (p.auto || p.lowRank) && dt.IsFloat()
}
