// Command svd times codec.RandomizedSVD (rank 64, oversample 10, 2 power
// iterations, fixed seed) on a deterministic 4096×4096 float32 matrix and
// prints one JSON object; bench/svd.sh runs it beside numpy (bench/svd.py)
// on the very same matrix, which -write saves as raw little-endian float32.
//
// The matrix is A = 0.02·G + X·diag(σ)·Y: G, X (n×256) and Y (256×n) are
// Gaussian from a fixed PCG seed, X and Y scaled by 1/√n, σ_i = 5·0.98^i —
// a noise floor (spectral norm ≈ 2.6) under a decaying low-rank part, as
// trained weight matrices look.
//
// -gonum also times one A·Ω product (the shape the algorithm's six big
// products have) with gonum's blas32.Gemm, for comparison with the codec's
// own float32 product (BenchmarkGemm in codec/svd_bench_test.go times both
// on that shape). -cpuprofile writes a CPU profile of the timed runs.
//
// -model FILE instead measures the codecs on the 2-D float32 tensors of a
// safetensors file (all-MiniLM-L6-v2's 384×384 and 1536×384/384×1536
// matrices) and prints a markdown table: size ratio and relative Frobenius
// error of f16, bf16, q8, q4 and low rank at ranks 8/32/64/128.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/vsdb/vsdb/codec"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

type result struct {
	N           int       `json:"n"`
	Rank        int       `json:"rank"`
	Oversample  int       `json:"oversample"`
	PowerIters  int       `json:"power_iters"`
	Runs        int       `json:"runs"`
	GoMaxProcs  int       `json:"gomaxprocs"`
	Kernel      string    `json:"kernel"`
	TimesS      []float64 `json:"times_s"`
	BestS       float64   `json:"best_s"`
	RelErr      float64   `json:"rel_err"`
	S0          float64   `json:"s0"`
	SK          float64   `json:"s_k"`
	GonumGemmS  float64   `json:"gonum_gemm_s,omitempty"`
	GemmGFLOP   float64   `json:"gemm_gflop"`
	GFLOPPerRun float64   `json:"gflop_per_run"`
}

func main() {
	n := flag.Int("n", 4096, "matrix side")
	rank := flag.Int("rank", 64, "rank")
	over := flag.Int("oversample", 10, "oversampling")
	power := flag.Int("power", 2, "power iterations")
	seed := flag.Uint64("seed", 1, "seed of the test matrix Ω")
	runs := flag.Int("runs", 3, "timed runs (best is reported)")
	write := flag.String("write", "", "also write the matrix to this file (raw float32 LE)")
	gonum := flag.Bool("gonum", false, "also time one A·Ω product with gonum blas32.Gemm")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the timed runs")
	model := flag.String("model", "", "measure the codecs on this safetensors file instead")
	flag.Parse()
	var err error
	if *model != "" {
		err = modelTable(*model)
	} else {
		err = run(*n, *rank, *over, *power, *seed, *runs, *write, *gonum, *cpuprofile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "svd:", err)
		os.Exit(1)
	}
}

// testMatrix builds the benchmark matrix (see the package comment).
func testMatrix(n int) []float32 {
	const r = 256
	rng := rand.New(rand.NewPCG(2026, 12))
	a := make([]float32, n*n)
	for i := range a {
		a[i] = float32(0.02 * rng.NormFloat64())
	}
	x := make([]float32, n*r)
	y := make([]float32, r*n)
	sc := 1 / math.Sqrt(float64(n))
	for i := range x {
		x[i] = float32(rng.NormFloat64() * sc * 5 * math.Pow(0.98, float64(i%r)))
	}
	for i := range y {
		y[i] = float32(rng.NormFloat64() * sc)
	}
	// a += x·y with gonum (setup only, not timed).
	blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
		blas32.General{Rows: n, Cols: r, Stride: r, Data: x},
		blas32.General{Rows: r, Cols: n, Stride: n, Data: y},
		1, blas32.General{Rows: n, Cols: n, Stride: n, Data: a})
	return a
}

func run(n, rank, over, power int, seed uint64, runs int, write string, gonum bool, cpuprofile string) error {
	if runs < 1 {
		return fmt.Errorf("need -runs ≥ 1")
	}
	a := testMatrix(n)
	if write != "" {
		buf := make([]byte, 4*len(a))
		for i, v := range a {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if err := os.WriteFile(write, buf, 0o644); err != nil {
			return err
		}
	}
	var normSq float64
	for _, v := range a {
		normSq += float64(v) * float64(v)
	}
	l := min(rank+over, n)
	gemmFlop := 2 * float64(n) * float64(n) * float64(l)
	res := result{N: n, Rank: rank, Oversample: over, PowerIters: power, Runs: runs,
		GoMaxProcs: runtime.GOMAXPROCS(0), Kernel: codec.GemmKernel(),
		GemmGFLOP: gemmFlop / 1e9, GFLOPPerRun: float64(2+2*power) * gemmFlop / 1e9}

	if gonum {
		omega := make([]float32, n*l)
		rng := rand.New(rand.NewPCG(seed, 3))
		for i := range omega {
			omega[i] = float32(rng.NormFloat64())
		}
		y := make([]float32, n*l)
		best := math.Inf(1)
		for range 2 {
			t := time.Now()
			blas32.Gemm(blas.NoTrans, blas.NoTrans, 1,
				blas32.General{Rows: n, Cols: n, Stride: n, Data: a},
				blas32.General{Rows: n, Cols: l, Stride: l, Data: omega},
				0, blas32.General{Rows: n, Cols: l, Stride: l, Data: y})
			best = min(best, time.Since(t).Seconds())
		}
		res.GonumGemmS = best
	}

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for range runs {
		runtime.GC()
		t := time.Now()
		_, s, _, err := codec.RandomizedSVD(a, n, n, rank, over, power, seed)
		if err != nil {
			return err
		}
		res.TimesS = append(res.TimesS, time.Since(t).Seconds())
		res.RelErr = codec.LowRankError(s, rank, normSq)
		res.S0, res.SK = float64(s[0]), float64(s[rank-1])
	}
	res.BestS = slices.Min(res.TimesS)
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return nil
}
