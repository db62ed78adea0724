package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/vsdb/vsdb/codec"
)

// stTensor is one entry of a safetensors header.
type stTensor struct {
	Dtype   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// readSafetensors returns the 2-D F32 tensors of a safetensors file.
func readSafetensors(path string) (map[string]stTensor, []byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if len(raw) < 8 {
		return nil, nil, fmt.Errorf("%s: too short for a safetensors file", path)
	}
	hl := binary.LittleEndian.Uint64(raw)
	if hl > uint64(len(raw)-8) {
		return nil, nil, fmt.Errorf("%s: header length %d beyond the file", path, hl)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+hl], &hdr); err != nil {
		return nil, nil, fmt.Errorf("%s: header: %v", path, err)
	}
	data := raw[8+hl:]
	out := map[string]stTensor{}
	for name, msg := range hdr {
		if name == "__metadata__" {
			continue
		}
		var t stTensor
		if err := json.Unmarshal(msg, &t); err != nil {
			return nil, nil, fmt.Errorf("%s: tensor %s: %v", path, name, err)
		}
		if t.Dtype != "F32" || len(t.Shape) != 2 {
			continue
		}
		if t.Offsets[0] < 0 || t.Offsets[1] > len(data) || t.Offsets[1]-t.Offsets[0] != 4*t.Shape[0]*t.Shape[1] {
			return nil, nil, fmt.Errorf("%s: tensor %s: bad offsets %v", path, name, t.Offsets)
		}
		out[name] = t
	}
	return out, data, nil
}

// acc sums what one table cell needs over the tensors of one shape class.
type acc struct {
	num, den   float64
	enc, raw   int64
	seconds    float64
	tensors    int
	failed     string
	perTensors []float64
}

func (a *acc) add(num, den float64, enc, raw int64, sec float64) {
	a.num += num
	a.den += den
	a.enc += enc
	a.raw += raw
	a.seconds += sec
	a.tensors++
	a.perTensors = append(a.perTensors, codec.RelativeError(num, den))
}

// modelTable prints, for each shape class of 2-D float32 tensors, the
// size ratio (float32 bytes / encoded bytes) and relative Frobenius error
// (summed over all tensors of the class) of every float codec and of low
// rank at ranks 8, 32, 64 and 128.
func modelTable(path string) error {
	tensors, data, err := readSafetensors(path)
	if err != nil {
		return err
	}
	classes := map[string][]string{}
	for name, t := range tensors {
		m, n := t.Shape[0], t.Shape[1]
		if strings.Contains(name, "embeddings") || min(m, n) < 64 {
			continue // the weight matrices only, not embedding tables
		}
		key := fmt.Sprintf("%d×%d", m, n)
		classes[key] = append(classes[key], name)
	}
	keys := make([]string, 0, len(classes))
	for k := range classes {
		keys = append(keys, k)
		sort.Strings(classes[k])
	}
	sort.Strings(keys)

	dtypes := map[string]int{} // low-rank factor types chosen, by method
	defer func() {
		fmt.Fprintf(os.Stderr, "low-rank factor types chosen (method/dtype: 1 fp16, 2 bf16): %v\n", dtypes)
	}()
	methods := append([]string{"f16", "bf16", "q8", "q4"}, "lowrank-8", "lowrank-32", "lowrank-64", "lowrank-128")
	fmt.Printf("| tensors (shape × count) | method | bits/value | size ratio vs float32 | relative Frobenius error (all) | per-tensor min … max | encode s (all) |\n")
	fmt.Printf("| --- | --- | ---: | ---: | ---: | --- | ---: |\n")
	for _, key := range keys {
		names := classes[key]
		for _, meth := range methods {
			var a acc
			for _, name := range names {
				t := tensors[name]
				m, n := t.Shape[0], t.Shape[1]
				vals := make([]float32, m*n)
				b := data[t.Offsets[0]:t.Offsets[1]]
				for i := range vals {
					vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
				}
				dec := make([]float32, m*n)
				start := time.Now()
				var enc []byte
				if strings.HasPrefix(meth, "lowrank-") {
					var k int
					fmt.Sscanf(meth, "lowrank-%d", &k)
					enc, _, err = codec.EncodeLowRank(nil, vals, m, n, k, 0)
					if err == nil {
						dtypes[fmt.Sprintf("%s/%d", meth, enc[1])]++
						sec := time.Since(start).Seconds()
						if err = codec.DecodeLowRank(dec, enc, m, n); err == nil {
							num, den := codec.ErrorSums(vals, dec)
							a.add(num, den, int64(len(enc)), int64(4*m*n), sec)
						}
					}
				} else {
					c, _ := codec.FloatCodecByName(meth)
					// Chunks of 64 Ki values, as the engine might cut them.
					const chunk = 64 << 10
					var num, den float64
					var size int64
					for lo := 0; lo < len(vals) && err == nil; lo += chunk {
						hi := min(len(vals), lo+chunk)
						enc, err = c.EncodeFloats(enc[:0], vals[lo:hi])
						if err == nil {
							err = c.DecodeFloats(dec[lo:hi], enc)
						}
						size += int64(len(enc))
						nn, dd := codec.ErrorSums(vals[lo:hi], dec[lo:hi])
						num += nn
						den += dd
					}
					if err == nil {
						a.add(num, den, size, int64(4*m*n), time.Since(start).Seconds())
					}
				}
				if err != nil {
					a.failed = err.Error()
					err = nil
				}
			}
			label := fmt.Sprintf("%s × %d", key, len(names))
			if a.tensors == 0 {
				fmt.Printf("| %s | %s | | | failed: %s | | |\n", label, meth, a.failed)
				continue
			}
			lo, hi := a.perTensors[0], a.perTensors[0]
			for _, e := range a.perTensors {
				lo, hi = min(lo, e), max(hi, e)
			}
			bits := 8 * float64(a.enc) / float64(a.raw/4)
			fmt.Printf("| %s | %s | %.2f | %.2f× | %.3g | %.3g … %.3g | %.2f |\n",
				label, meth, bits, float64(a.raw)/float64(a.enc), codec.RelativeError(a.num, a.den), lo, hi, a.seconds)
		}
	}
	return nil
}
