// Command lowrank_study measures how well vsdb's low-rank encoding
// (codec.EncodeLowRank at a fixed rank: randomized SVD, factors in 16 bits)
// compresses raw weight matrices of a real model against fine-tune deltas,
// at several ranks. It writes one CSV row per (input kind, tensor, rank),
// prints a markdown table per rank and draws a chart (docs/COMPRESSION.md,
// run by bench/lowrank_study.sh).
//
// Input kinds:
//
//   - raw: every 2-D encoder and pooler weight of -model (embedding tables
//     left out, as in docs/CODECS.md);
//   - synthetic rank 8: for each of those matrices W, the delta D = U·Vᵀ of
//     a Gaussian rank-8 update scaled to -scale·‖W‖, taken as
//     (W + D) − W in float32, as a store would see it;
//   - synthetic rank 8 + noise: the same plus dense Gaussian noise of
//     -noise·‖W‖;
//   - raw embedding tables: the word and position embeddings of -model;
//   - real delta, embedding tables: those tables minus the same tables of
//     -pair (another fine-tune of the same base), if given.
//
// The relative Frobenius error is that of the encoded tensor (the delta for
// the deltas); "vs weights" divides the same error norm by the norm of the
// fine-tuned tensor (base + delta) instead. Ratios are dense bytes (float32,
// fp16) over encoded bytes, the 14-byte header included.
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/tensor"
)

// matrix is one named row-major float32 matrix.
type matrix struct {
	name string
	m, n int
	a    []float32
}

// input is one tensor to encode: a (the encoded matrix) and ft, the
// fine-tuned tensor it stands for (a itself for raw weights).
type input struct {
	kind string
	matrix
	ft []float32
}

// row is the result of one (input, rank) encoding.
type row struct {
	kind, name      string
	m, n, rank      int
	encBytes        int
	relErr, errNorm float64 // ‖A − Â‖/‖A‖, ‖A − Â‖
	norm, ftNorm    float64
	seconds         float64
}

func main() {
	model := flag.String("model", "", "safetensors file of the real model (all-MiniLM-L6-v2)")
	pair := flag.String("pair", "", "safetensors file with embedding tables of another fine-tune of the same base (optional)")
	pairName := flag.String("pair-name", "paraphrase-MiniLM-L3-v2", "name of the -pair model in labels")
	ranksFlag := flag.String("ranks", "4,8,16,24,32,48,64,128", "ranks to encode at")
	scale := flag.Float64("scale", 0.02, "norm of the synthetic rank-8 update relative to the weight")
	noise := flag.Float64("noise", 0.001, "norm of the dense noise relative to the weight")
	csvPath := flag.String("csv", "", "write one row per (kind, tensor, rank) here")
	pngPath := flag.String("png", "", "write the chart here")
	flag.Parse()
	if *model == "" {
		fmt.Fprintln(os.Stderr, "usage: lowrank_study -model MODEL.safetensors [-pair EMB.safetensors] [-csv OUT.csv] [-png OUT.png]")
		os.Exit(2)
	}
	if err := run(*model, *pair, *pairName, *ranksFlag, *scale, *noise, *csvPath, *pngPath); err != nil {
		fmt.Fprintln(os.Stderr, "lowrank_study:", err)
		os.Exit(1)
	}
}

func run(model, pair, pairName, ranksFlag string, scale, noise float64, csvPath, pngPath string) error {
	var ranks []int
	for _, f := range strings.Split(ranksFlag, ",") {
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r < 1 {
			return fmt.Errorf("bad rank %q", f)
		}
		ranks = append(ranks, r)
	}
	weights, err := readMatrices(model)
	if err != nil {
		return err
	}
	var layers, tables []matrix
	for _, w := range weights {
		switch {
		case strings.HasPrefix(w.name, "embeddings."):
			if min(w.m, w.n) >= slices.Max(ranks) {
				tables = append(tables, w)
			}
		default:
			layers = append(layers, w)
		}
	}
	if len(layers) == 0 {
		return fmt.Errorf("%s: no 2-D float weight matrices", model)
	}

	kindRaw := "raw weights"
	kindLR := fmt.Sprintf("synthetic delta: rank 8, norm %.0f%% of W", 100*scale)
	kindNoise := fmt.Sprintf("synthetic delta: rank 8 + %.1f%% dense noise", 100*noise)
	kindTables := "raw embedding tables"
	kindPair := "real delta: embedding tables (L6 - L3)"
	kinds := []string{kindRaw, kindLR, kindNoise, kindTables}

	var inputs []input
	rng := rand.New(rand.NewPCG(1, 2))
	for _, w := range layers {
		inputs = append(inputs, input{kind: kindRaw, matrix: w, ft: w.a})
	}
	for _, w := range layers {
		d := lowRankUpdate(rng, w, 8, scale)
		inputs = append(inputs, deltaInput(kindLR, w, d))
	}
	for _, w := range layers {
		d := lowRankUpdate(rng, w, 8, scale)
		addNoise(rng, d, w, noise)
		inputs = append(inputs, deltaInput(kindNoise, w, d))
	}
	for _, w := range tables {
		inputs = append(inputs, input{kind: kindTables, matrix: w, ft: w.a})
	}
	if pair != "" {
		other, err := readMatrices(pair)
		if err != nil {
			return err
		}
		n := 0
		for _, b := range other {
			i := slices.IndexFunc(tables, func(t matrix) bool { return t.name == b.name })
			if i < 0 {
				continue
			}
			t := tables[i]
			if t.m != b.m || t.n != b.n {
				return fmt.Errorf("%s: %s is %d×%d, the model's %d×%d", pair, b.name, b.m, b.n, t.m, t.n)
			}
			// The model's table is the "fine-tune", the pair's the "base".
			d := make([]float32, len(t.a))
			for j := range d {
				d[j] = t.a[j] - b.a[j]
			}
			inputs = append(inputs, input{kind: kindPair, matrix: matrix{t.name, t.m, t.n, d}, ft: t.a})
			n++
		}
		if n == 0 {
			return fmt.Errorf("%s: no tensor matches an embedding table of %s", pair, model)
		}
		kinds = append(kinds, kindPair)
	}

	var rows []row
	start := time.Now()
	for _, in := range inputs {
		for _, k := range ranks {
			if k > min(in.m, in.n) {
				continue
			}
			r, err := encode(in, k)
			if err != nil {
				return err
			}
			rows = append(rows, r)
		}
	}
	total := time.Since(start)

	if csvPath != "" {
		if err := writeCSV(csvPath, rows); err != nil {
			return err
		}
	}
	printTables(rows, kinds, ranks, layers, tables, pairName)
	fmt.Printf("\n%d encodings in %.1f s (GOMAXPROCS %d, gemm kernel %s)\n", len(rows), total.Seconds(), runtime.GOMAXPROCS(0), codec.GemmKernel())
	if pngPath != "" {
		if err := drawChart(pngPath, rows, kinds, ranks); err != nil {
			return err
		}
	}
	return nil
}

// readMatrices returns the 2-D float tensors of a checkpoint as float32.
func readMatrices(path string) ([]matrix, error) {
	src, err := format.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var out []matrix
	for i, e := range src.Entries() {
		if !e.DType.IsFloat() || len(e.Shape) != 2 {
			continue
		}
		rc, err := src.Open(i)
		if err != nil {
			return nil, err
		}
		raw, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		m, n := int(e.Shape[0]), int(e.Shape[1])
		a := make([]float32, m*n)
		if err := tensor.ToFloat32(e.DType, raw, a); err != nil {
			return nil, fmt.Errorf("%s: %s: %v", path, e.Name, err)
		}
		out = append(out, matrix{e.Name, m, n, a})
	}
	return out, nil
}

func frob(a []float32) float64 {
	var s float64
	for _, v := range a {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// lowRankUpdate returns U·Vᵀ for Gaussian U (m×r), V (n×r), scaled to
// ‖U·Vᵀ‖ = scale·‖W‖.
func lowRankUpdate(rng *rand.Rand, w matrix, r int, scale float64) []float64 {
	u := make([]float64, w.m*r)
	v := make([]float64, w.n*r)
	for i := range u {
		u[i] = rng.NormFloat64()
	}
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	d := make([]float64, w.m*w.n)
	for i := 0; i < w.m; i++ {
		for j := 0; j < w.n; j++ {
			var s float64
			for l := 0; l < r; l++ {
				s += u[i*r+l] * v[j*r+l]
			}
			d[i*w.n+j] = s
		}
	}
	rescale(d, scale*frob(w.a))
	return d
}

func rescale(d []float64, want float64) {
	var s float64
	for _, x := range d {
		s += x * x
	}
	f := want / math.Sqrt(s)
	for i := range d {
		d[i] *= f
	}
}

// addNoise adds dense Gaussian noise of norm rel·‖W‖ to d.
func addNoise(rng *rand.Rand, d []float64, w matrix, rel float64) {
	e := make([]float64, len(d))
	for i := range e {
		e[i] = rng.NormFloat64()
	}
	rescale(e, rel*frob(w.a))
	for i := range d {
		d[i] += e[i]
	}
}

// deltaInput stores the fine-tune W + d in float32 and returns the delta
// as a store computes it: (W + d) − W in float32.
func deltaInput(kind string, w matrix, d []float64) input {
	ft := make([]float32, len(w.a))
	delta := make([]float32, len(w.a))
	for i, v := range w.a {
		ft[i] = float32(float64(v) + d[i])
		delta[i] = ft[i] - v
	}
	return input{kind: kind, matrix: matrix{w.name, w.m, w.n, delta}, ft: ft}
}

// encode runs EncodeLowRank at rank k, decodes, and measures.
func encode(in input, k int) (row, error) {
	t0 := time.Now()
	enc, e, err := codec.EncodeLowRank(nil, in.a, in.m, in.n, k, 0)
	if err != nil {
		return row{}, fmt.Errorf("%s %s rank %d: %v", in.kind, in.name, k, err)
	}
	sec := time.Since(t0).Seconds()
	dec := make([]float32, in.m*in.n)
	if err := codec.DecodeLowRank(dec, enc, in.m, in.n); err != nil {
		return row{}, fmt.Errorf("%s %s rank %d: decode: %v", in.kind, in.name, k, err)
	}
	num, den := codec.ErrorSums(in.a, dec)
	rel := codec.RelativeError(num, den)
	if math.Abs(rel-e) > 1e-6*math.Max(1, e) {
		return row{}, fmt.Errorf("%s %s rank %d: EncodeLowRank reported error %g, decoding gives %g", in.kind, in.name, k, e, rel)
	}
	return row{
		kind: in.kind, name: in.name, m: in.m, n: in.n, rank: k,
		encBytes: len(enc), relErr: rel, errNorm: math.Sqrt(num),
		norm: math.Sqrt(den), ftNorm: frob(in.ft), seconds: sec,
	}, nil
}

func writeCSV(path string, rows []row) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"kind", "tensor", "m", "n", "rank", "f32_bytes", "f16_bytes", "encoded_bytes",
		"ratio_vs_f32", "ratio_vs_f16", "rel_frobenius_error", "rel_error_vs_finetuned_weights",
		"norm", "finetuned_norm", "encode_s"})
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
	for _, r := range rows {
		dense := int64(r.m) * int64(r.n)
		w.Write([]string{r.kind, r.name, strconv.Itoa(r.m), strconv.Itoa(r.n), strconv.Itoa(r.rank),
			strconv.FormatInt(4*dense, 10), strconv.FormatInt(2*dense, 10), strconv.Itoa(r.encBytes),
			g(float64(4*dense) / float64(r.encBytes)), g(float64(2*dense) / float64(r.encBytes)),
			g(r.relErr), g(r.errNorm / r.ftNorm), g(r.norm), g(r.ftNorm), g(r.seconds)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// summary aggregates the rows of one (kind, rank).
type summary struct {
	tensors                     int
	f32, enc                    int64
	errSq, normSq, ftSq         float64
	perTensor                   []float64
	seconds                     float64
	ratioF32, ratioF16, overall float64
	vsWeights                   float64
}

func summarize(rows []row, kind string, rank int) (summary, bool) {
	var s summary
	for _, r := range rows {
		if r.kind != kind || r.rank != rank {
			continue
		}
		s.tensors++
		s.f32 += 4 * int64(r.m) * int64(r.n)
		s.enc += int64(r.encBytes)
		s.errSq += r.errNorm * r.errNorm
		s.normSq += r.norm * r.norm
		s.ftSq += r.ftNorm * r.ftNorm
		s.perTensor = append(s.perTensor, r.relErr)
		s.seconds += r.seconds
	}
	if s.tensors == 0 {
		return s, false
	}
	slices.Sort(s.perTensor)
	s.ratioF32 = float64(s.f32) / float64(s.enc)
	s.ratioF16 = s.ratioF32 / 2
	s.overall = math.Sqrt(s.errSq / s.normSq)
	s.vsWeights = math.Sqrt(s.errSq / s.ftSq)
	return s, true
}

func median(v []float64) float64 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func printTables(rows []row, kinds []string, ranks []int, layers, tables []matrix, pairName string) {
	shapes := map[string]int{}
	for _, w := range layers {
		shapes[fmt.Sprintf("%d×%d", w.m, w.n)]++
	}
	var keys []string
	for k := range shapes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var desc []string
	for _, k := range keys {
		desc = append(desc, fmt.Sprintf("%s × %d", k, shapes[k]))
	}
	fmt.Printf("encoder/pooler matrices: %s; embedding tables:", strings.Join(desc, ", "))
	for _, t := range tables {
		fmt.Printf(" %s %d×%d;", t.name, t.m, t.n)
	}
	fmt.Printf(" pair: %s\n", pairName)
	fmt.Print("\n### Error at 30×, 20× and 10× smaller than float32\n\n")
	fmt.Print("The largest measured rank whose total size is at least that many times smaller than float32 (the ratio against fp16 is half).\n\n")
	fmt.Println("| input | ≥ 30×: rank, ratio, error | ≥ 20×: rank, ratio, error | ≥ 10×: rank, ratio, error |")
	fmt.Println("| --- | --- | --- | --- |")
	for _, kind := range kinds {
		fmt.Printf("| %s |", kind)
		for _, target := range []float64{30, 20, 10} {
			cell := " none measured |"
			for _, k := range ranks {
				if s, ok := summarize(rows, kind, k); ok && s.ratioF32 >= target {
					cell = fmt.Sprintf(" %d, %.1f×, %.3g |", k, s.ratioF32, s.overall)
				}
			}
			fmt.Print(cell)
		}
		fmt.Println()
	}

	fmt.Print("\n### Per tensor, for the inputs with few tensors\n\n")
	fmt.Println("| input | tensor | shape | rank | ratio vs f32 | rel. Frobenius error | error vs fine-tuned weights |")
	fmt.Println("| --- | --- | --- | ---: | ---: | ---: | ---: |")
	for _, kind := range kinds {
		var few []row
		for _, r := range rows {
			if r.kind == kind {
				few = append(few, r)
			}
		}
		if len(few) > 3*len(ranks) {
			continue
		}
		for _, r := range few {
			vs := "—"
			if !strings.HasPrefix(kind, "raw") {
				vs = fmt.Sprintf("%.3g", r.errNorm/r.ftNorm)
			}
			fmt.Printf("| %s | %s | %d×%d | %d | %.1f× | %.3g | %s |\n", kind, r.name, r.m, r.n, r.rank,
				float64(4*r.m*r.n)/float64(r.encBytes), r.relErr, vs)
		}
	}

	for _, k := range ranks {
		fmt.Printf("\n### Rank %d\n\n", k)
		fmt.Println("| input | tensors | ratio vs f32 | ratio vs f16 | rel. Frobenius error (all) | per tensor min / median / max | error vs fine-tuned weights | encode s |")
		fmt.Println("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
		for _, kind := range kinds {
			s, ok := summarize(rows, kind, k)
			if !ok {
				continue
			}
			vs := "—"
			if !strings.HasPrefix(kind, "raw") {
				vs = fmt.Sprintf("%.3g", s.vsWeights)
			}
			fmt.Printf("| %s | %d | %.1f× | %.1f× | %.3g | %.3g / %.3g / %.3g | %s | %.2f |\n",
				kind, s.tensors, s.ratioF32, s.ratioF16, s.overall,
				s.perTensor[0], median(s.perTensor), s.perTensor[len(s.perTensor)-1], vs, s.seconds)
		}
	}
}
