// Command lossless measures vsdb's lossless codec on the real weights of a
// safetensors file: the total ratio and the encode and decode speed on one
// core, against zstd alone (klauspost/compress/zstd, default and fastest
// levels) on the same chunks.
//
// The floating-point tensors are cut into chunks as vsdb's ingest does (each
// tensor on its own, -chunk bytes at a time, the element width of its
// dtype). With -dtype bf16 every F32 tensor is first cast to BF16 with
// round-to-nearest-even (as torch's .to(torch.bfloat16) does), giving the
// BF16 variant of the same real weights; -dtype f32,bf16 runs both.
// Integer tensors are left out (all-MiniLM-L6-v2 has one, 4 KiB of
// position ids).
//
//	go run ./bench/lossless -file model.safetensors [-dtype f32,bf16] [-runs 5] [-json] [-dump DIR]
//	        [-codecs lossless,zstd-default,zstd-fastest] [-cpuprofile FILE [-profile-decode]]
//
// -dump DIR writes the measured bytes of each variant (the float tensors
// concatenated in file order) to DIR/VARIANT.bin, so that another tool (the
// zipnn package in bench/lossless.py) can compress exactly the same bytes.
// Timings are the best of -runs passes over all chunks, with GOMAXPROCS 1.
// -cpuprofile FILE profiles the run; with -profile-decode, only the timed
// decode passes of the first codec on the first variant (which the encode
// passes otherwise drown).
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vsdb/vsdb/codec"
)

type tensor struct {
	name  string
	dtype string
	elem  int
	off   int64
	data  []byte
}

type chunk struct {
	raw  []byte
	elem int
}

// Result is one codec's figures on one variant.
type Result struct {
	Variant   string  `json:"variant"`
	Codec     string  `json:"codec"`
	Tensors   int     `json:"tensors"`
	Chunks    int     `json:"chunks"`
	RawBytes  int64   `json:"raw_bytes"`
	Stored    int64   `json:"stored_bytes"`
	Ratio     float64 `json:"ratio"`
	EncodeMBs float64 `json:"encode_mb_s"`
	DecodeMBs float64 `json:"decode_mb_s"`
}

func main() {
	file := flag.String("file", "", "safetensors file (required)")
	dtypes := flag.String("dtype", "f32,bf16", "variants to measure: f32 (as stored), bf16 (F32 cast to BF16), comma-separated")
	chunkBytes := flag.Int("chunk", 1<<20, "chunk size in raw bytes")
	runs := flag.Int("runs", 5, "timed passes; the best is reported")
	asJSON := flag.Bool("json", false, "print JSON lines instead of a table")
	dump := flag.String("dump", "", "write each variant's bytes to DIR/VARIANT.bin")
	codecs := flag.String("codecs", "lossless,zstd-default,zstd-fastest", "codecs to measure")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here")
	decodeOnly := flag.Bool("profile-decode", false, "with -cpuprofile, profile the timed decode passes only")
	flag.Parse()
	if *file == "" {
		flag.Usage()
		os.Exit(2)
	}
	runtime.GOMAXPROCS(1)
	*runs = max(*runs, 1)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		check(err)
		if *decodeOnly {
			profileDecode = true
		} else {
			check(pprof.StartCPUProfile(f))
			defer pprof.StopCPUProfile()
		}
		defer f.Close()
		profileFile = f
	}
	tensors, err := load(*file)
	check(err)

	var results []Result
	for _, v := range strings.Split(*dtypes, ",") {
		var ts []tensor
		switch v {
		case "f32":
			ts = tensors
		case "bf16":
			for _, t := range tensors {
				ts = append(ts, toBF16(t))
			}
		default:
			log.Fatalf("unknown variant %q", v)
		}
		if *dump != "" {
			var all bytes.Buffer
			for _, t := range ts {
				all.Write(t.data)
			}
			check(os.WriteFile(filepath.Join(*dump, v+".bin"), all.Bytes(), 0o644))
		}
		chunks := cut(ts, *chunkBytes)
		for _, name := range strings.Split(*codecs, ",") {
			r := measure(name, chunks, *runs)
			r.Variant, r.Tensors = v, len(ts)
			results = append(results, r)
			if *asJSON {
				b, _ := json.Marshal(r)
				fmt.Println(string(b))
			}
		}
	}
	if !*asJSON {
		fmt.Printf("%-8s %-14s %12s %12s %7s %10s %10s\n", "variant", "codec", "raw bytes", "stored", "ratio", "enc MB/s", "dec MB/s")
		for _, r := range results {
			fmt.Printf("%-8s %-14s %12d %12d %7.4f %10.0f %10.0f\n", r.Variant, r.Codec, r.RawBytes, r.Stored, r.Ratio, r.EncodeMBs, r.DecodeMBs)
		}
	}
}

// load reads the floating-point tensors of a safetensors file in the order
// of their data offsets.
func load(path string) ([]tensor, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("%s: too short for safetensors", path)
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("%s: header length %d past the end", path, n)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		return nil, fmt.Errorf("%s: header: %v", path, err)
	}
	data := b[8+n:]
	var out []tensor
	for name, raw := range hdr {
		if name == "__metadata__" {
			continue
		}
		var info struct {
			Dtype   string   `json:"dtype"`
			Offsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &info); err != nil {
			return nil, fmt.Errorf("%s: tensor %s: %v", path, name, err)
		}
		elem := map[string]int{"F64": 8, "F32": 4, "BF16": 2, "F16": 2}[info.Dtype]
		if elem == 0 {
			continue
		}
		lo, hi := info.Offsets[0], info.Offsets[1]
		if lo < 0 || hi < lo || hi > int64(len(data)) || (hi-lo)%int64(elem) != 0 {
			return nil, fmt.Errorf("%s: tensor %s: bad offsets %v", path, name, info.Offsets)
		}
		out = append(out, tensor{name: name, dtype: info.Dtype, elem: elem, off: lo, data: data[lo:hi]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].off < out[j].off })
	return out, nil
}

// toBF16 casts an F32 tensor to BF16 with round-to-nearest-even; NaN stays
// NaN (quiet bit set), like torch. Other dtypes are returned as they are.
func toBF16(t tensor) tensor {
	if t.dtype != "F32" {
		return t
	}
	n := len(t.data) / 4
	out := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint16(out[2*i:], bf16(binary.LittleEndian.Uint32(t.data[4*i:])))
	}
	return tensor{name: t.name, dtype: "BF16", elem: 2, data: out}
}

func bf16(f uint32) uint16 {
	if math.IsNaN(float64(math.Float32frombits(f))) {
		return uint16(f>>16) | 0x40
	}
	return uint16((f + 0x7fff + (f>>16)&1) >> 16)
}

// cut splits each tensor into chunks of at most size bytes, as ingest does.
func cut(ts []tensor, size int) []chunk {
	size -= size % 8
	var out []chunk
	for _, t := range ts {
		for off := 0; off < len(t.data); off += size {
			out = append(out, chunk{raw: t.data[off:min(len(t.data), off+size)], elem: t.elem})
		}
	}
	return out
}

type coder struct {
	encode func(dst []byte, c chunk) []byte
	decode func(dst []byte, enc []byte, c chunk) error
}

func newCoder(name string) coder {
	switch name {
	case "lossless":
		l := codec.Lossless{}
		return coder{
			encode: func(dst []byte, c chunk) []byte {
				out, err := l.Encode(dst, c.raw, c.elem)
				check(err)
				return out
			},
			decode: func(dst, enc []byte, c chunk) error { return l.Decode(dst, enc, c.elem) },
		}
	case "zstd-default", "zstd-fastest", "zstd-better":
		lvl := map[string]zstd.EncoderLevel{"zstd-default": zstd.SpeedDefault, "zstd-fastest": zstd.SpeedFastest, "zstd-better": zstd.SpeedBetterCompression}[name]
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1))
		check(err)
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		check(err)
		return coder{
			encode: func(dst []byte, c chunk) []byte { return e.EncodeAll(c.raw, dst) },
			decode: func(dst, enc []byte, c chunk) error {
				out, err := d.DecodeAll(enc, dst[:0])
				if err == nil && (len(out) != len(dst) || &out[:1][0] != &dst[:1][0]) {
					err = fmt.Errorf("zstd: decoded %d bytes", len(out))
				}
				return err
			},
		}
	}
	log.Fatalf("unknown codec %q", name)
	return coder{}
}

// With -profile-decode, the CPU profile covers the first decode passes only.
var (
	profileDecode bool
	profileFile   *os.File
)

func measure(name string, chunks []chunk, runs int) Result {
	cd := newCoder(name)
	enc := make([][]byte, len(chunks))
	dec := make([][]byte, len(chunks))
	var raw int64
	for i, c := range chunks {
		enc[i] = make([]byte, 0, len(c.raw)+1024)
		dec[i] = make([]byte, len(c.raw))
		raw += int64(len(c.raw))
	}
	best := func(f func()) time.Duration {
		f() // warm-up
		b := time.Duration(math.MaxInt64)
		for r := 0; r < runs; r++ {
			runtime.GC()
			t := time.Now()
			f()
			b = min(b, time.Since(t))
		}
		return b
	}
	te := best(func() {
		for i, c := range chunks {
			enc[i] = cd.encode(enc[i][:0], c)
		}
	})
	var stored int64
	for _, e := range enc {
		stored += int64(len(e))
	}
	if profileDecode { // the first codec's decode passes only
		profileDecode = false
		check(pprof.StartCPUProfile(profileFile))
		defer pprof.StopCPUProfile()
	}
	td := best(func() {
		for i, c := range chunks {
			if err := cd.decode(dec[i], enc[i], c); err != nil {
				log.Fatalf("%s: decode chunk %d: %v", name, i, err)
			}
		}
	})
	for i, c := range chunks {
		if !bytes.Equal(dec[i], c.raw) {
			log.Fatalf("%s: chunk %d does not round-trip", name, i)
		}
	}
	return Result{
		Codec: name, Chunks: len(chunks), RawBytes: raw, Stored: stored,
		Ratio:     float64(raw) / float64(stored),
		EncodeMBs: float64(raw) / te.Seconds() / 1e6,
		DecodeMBs: float64(raw) / td.Seconds() / 1e6,
	}
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
