// Command indexlookup measures the question "tensors of layer L with codec C
// read more than N times" on a catalog of a million tensors, answered from
// vsdb's roaring bitmaps, against the same answer computed by scanning every
// tensor record and read counter — both in one run, printing the ratio.
//
//	go run ./bench/indexlookup [-models 1000] [-tensors 1000] [-queries 1000]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/vsdb/vsdb/lsm"
)

func main() {
	models := flag.Int("models", 1000, "models in the catalog")
	perModel := flag.Int("tensors", 1000, "tensors per model")
	queries := flag.Int("queries", 1000, "lookups to time")
	dir := flag.String("dir", "", "store folder (default: a temporary one)")
	scans := flag.Int("scans", 5, "lookups to answer by a full scan as well, for the ratio")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the bitmap lookups here")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "vsdb-indexlookup-")
		check(err)
		defer os.RemoveAll(d)
		*dir = d
	}
	s, err := lsm.Open(*dir, lsm.Options{})
	check(err)
	defer s.Close()
	layers := *perModel / 16
	t0 := time.Now()
	build(s, *models, *perModel, layers)
	check(s.Settle()) // no background compaction during the timed lookups
	fmt.Printf("catalog: %d models x %d tensors = %d tensors, built in %.1fs\n", *models, *perModel, *models**perModel, time.Since(t0).Seconds())

	rng := rand.New(rand.NewPCG(1, 2))
	lookups := make([]lookup, *queries)
	for i := range lookups {
		lookups[i] = lookup{layer: fmt.Sprintf("model.layers.%d", rng.IntN(layers)), codec: []string{"raw", "lossless"}[rng.IntN(2)], n: uint64(1 + rng.IntN(40))}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		check(pprof.StartCPUProfile(f))
	}
	// Warm-up: the first lookup of each layer decodes its bitmap from
	// Pebble into the bitmap cache; time the steady state after it.
	for _, q := range lookups {
		bitmapLookup(s, q)
	}
	runtime.GC()
	bitmapTimes := make([]time.Duration, len(lookups))
	counts := make([]uint64, len(lookups))
	for i, q := range lookups {
		start := time.Now()
		ids := bitmapLookup(s, q)
		bitmapTimes[i] = time.Since(start)
		counts[i] = ids.GetCardinality()
	}
	pprof.StopCPUProfile()
	n := min(*scans, len(lookups))
	var scanTotal time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		n := scanLookup(s, lookups[i])
		scanTotal += time.Since(start)
		if n != counts[i] {
			log.Fatalf("lookup %d: bitmaps found %d tensors, the scan %d", i, counts[i], n)
		}
	}
	sort.Slice(bitmapTimes, func(a, b int) bool { return bitmapTimes[a] < bitmapTimes[b] })
	p50, p99 := bitmapTimes[len(bitmapTimes)/2], bitmapTimes[len(bitmapTimes)*99/100]
	scan := scanTotal / time.Duration(max(1, n))
	fmt.Printf("bitmap lookup: p50 %v, p99 %v, max %v over %d lookups after a warm-up pass (mean answer %d tensors)\n", p50, p99, bitmapTimes[len(bitmapTimes)-1], len(lookups), mean(counts))
	if n > 0 {
		fmt.Printf("key scan:      %v per lookup (mean of %d, same answers)\n", scan, n)
		fmt.Printf("ratio scan / bitmap p99: %.0fx\n", float64(scan)/float64(p99))
	}
}

type lookup struct {
	layer, codec string
	n            uint64
}

// bitmapLookup: layer ∧ codec from their bitmaps, then reads > n from the
// bit-sliced index of read counts restricted to those candidates.
func bitmapLookup(s *lsm.Store, q lookup) *roaring.Bitmap {
	r := s.Reader()
	defer r.Close()
	layer, err := r.Bitmap("layer", q.layer)
	check(err)
	codec, err := r.Bitmap("codec", q.codec)
	check(err)
	ids := roaring.And(layer, codec)
	out, err := r.ReadsAbove(q.n, ids)
	check(err)
	return out
}

// scanLookup answers the same question by reading every tensor record.
func scanLookup(s *lsm.Store, q lookup) uint64 {
	r := s.Reader()
	defer r.Close()
	models, err := r.Models()
	check(err)
	var n uint64
	for _, m := range models {
		ts, err := r.Tensors(m)
		check(err)
		for _, t := range ts {
			if t.Layer != q.layer || t.Codec != q.codec {
				continue
			}
			rd, err := r.Reads(t.ID)
			check(err)
			if rd.Count > q.n {
				n++
			}
		}
	}
	return n
}

// build writes models of synthetic tensor records (no chunks) and read
// counts for about a tenth of the tensors, then refreshes the access index.
func build(s *lsm.Store, models, perModel, layers int) {
	rng := rand.New(rand.NewPCG(3, 4))
	params := []string{"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
		"mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight", "input_layernorm.weight",
		"post_attention_layernorm.weight", "self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias",
		"mlp.gate_proj.bias", "mlp.up_proj.bias", "mlp.down_proj.bias", "self_attn.rotary.inv_freq"}
	for m := 0; m < models; m++ {
		l, err := s.BeginLoad(fmt.Sprintf("model_%04d", m), perModel)
		check(err)
		for i := 0; i < perModel; i++ {
			id, err := l.NewTensor()
			check(err)
			layer := fmt.Sprintf("model.layers.%d", (i/len(params))%layers)
			param := params[i%len(params)]
			l.AddTensor(lsm.TensorRecord{ID: id, Name: fmt.Sprintf("%s.%s.%d", layer, param, i), Layer: layer, Param: param,
				DType: "BF16", Shape: []int64{4096, 4096}, Codec: []string{"raw", "lossless"}[rng.IntN(2)], ChunkCRCs: []uint32{}})
			if rng.IntN(10) == 0 {
				check(s.CountRead(id, uint64(1+rng.IntN(64))))
			}
		}
		check(l.Commit(context.Background(), lsm.ModelRecord{}))
	}
	check(s.RefreshAccessIndex())
}

func mean(v []uint64) uint64 {
	var s uint64
	for _, x := range v {
		s += x
	}
	return s / uint64(max(1, len(v)))
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
