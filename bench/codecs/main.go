// Command codecs stores a real checkpoint with every codec vsdb has, in its
// own dtype and cast to BF16, through the engine (as `vsdb ingest --codec`
// does), and prints one table row per (variant, codec): stored bytes, ratio
// against the raw tensors, the largest and the pooled relative error the
// store recorded, the same errors recomputed here from what reads return,
// and the ingest time.
//
//	go run ./bench/codecs -file model.safetensors [-codecs lossless,f16,...]
//
// The BF16 variant casts every F32 tensor with round-to-nearest-even (as
// torch's .to(torch.bfloat16)) into a temporary safetensors file first.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/tensor"
)

// spec is one codec setting.
type spec struct {
	label string
	o     engine.IngestOptions
}

var specs = map[string]spec{
	"raw":          {"raw", engine.IngestOptions{Codec: "raw"}},
	"lossless":     {"lossless", engine.IngestOptions{Codec: "lossless"}},
	"f16":          {"f16", engine.IngestOptions{Codec: "f16"}},
	"bf16":         {"bf16", engine.IngestOptions{Codec: "bf16"}},
	"q8":           {"q8", engine.IngestOptions{Codec: "q8"}},
	"q4":           {"q4", engine.IngestOptions{Codec: "q4"}},
	"lowrank-64":   {"lowrank(rank = 64)", engine.IngestOptions{Codec: "lowrank", Rank: 64}},
	"lowrank-0.01": {"lowrank(budget = 0.01)", engine.IngestOptions{Codec: "lowrank", ErrorBudget: 0.01}},
	"auto-0.01":    {"auto(budget = 0.01)", engine.IngestOptions{Codec: "auto", ErrorBudget: 0.01}},
	"auto-0.1":     {"auto(budget = 0.1)", engine.IngestOptions{Codec: "auto", ErrorBudget: 0.1}},
}

func main() {
	file := flag.String("file", "", "safetensors checkpoint")
	list := flag.String("codecs", "raw,lossless,f16,bf16,q8,q4,lowrank-64,lowrank-0.01,auto-0.01,auto-0.1", "codec settings to run")
	prof := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if *file == "" {
		log.Fatal("vsdb: -file is required")
	}
	tmp, err := os.MkdirTemp("", "vsdb-codecs")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	bf16 := filepath.Join(tmp, "bf16.safetensors")
	if err := castBF16(*file, bf16); err != nil {
		log.Fatal(err)
	}
	fmt.Println("| variant | codec | stored MB | ratio vs raw | tensors per codec | max error (recorded) | pooled error (recorded) | max error (recomputed) | ingest s |")
	fmt.Println("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |")
	for _, v := range []struct{ name, path string }{{"F32", *file}, {"BF16", bf16}} {
		for _, name := range strings.Split(*list, ",") {
			s, ok := specs[name]
			if !ok {
				log.Fatalf("vsdb: unknown codec setting %q", name)
			}
			if err := row(filepath.Join(tmp, "db-"+v.name+"-"+name), v.name, v.path, s); err != nil {
				log.Fatalf("%s %s: %v", v.name, name, err)
			}
		}
	}
}

// row ingests path with s into a fresh store and prints its figures.
func row(dir, variant, path string, s spec) error {
	db, err := engine.Open(dir, engine.Options{})
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	defer db.Close()
	o := s.o
	o.Name = "m"
	start := time.Now()
	m, err := db.Ingest(context.Background(), path, o)
	if err != nil {
		return err
	}
	took := time.Since(start)
	infos, err := db.Tensors("m")
	if err != nil {
		return err
	}
	src, err := format.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	byName := map[string]int{}
	for i, e := range src.Entries() {
		byName[e.Name] = i
	}
	counts := map[string]int{}
	var maxRec, maxGot, num, den float64
	for _, t := range infos {
		counts[t.Codec]++
		maxRec = max(maxRec, t.RelError)
		if !t.DType.IsFloat() {
			continue
		}
		orig, err := readEntry(src, byName[t.Name], t.DType)
		if err != nil {
			return err
		}
		got, err := db.Tensor("m", t.Name)
		if err != nil {
			return err
		}
		g, _ := got.Float32s()
		var n, d float64
		for i := range orig {
			e := float64(g[i]) - float64(orig[i])
			n += e * e
			d += float64(orig[i]) * float64(orig[i])
		}
		num += t.RelError * t.RelError * d
		den += d
		if d > 0 {
			maxGot = max(maxGot, math.Sqrt(n/d))
		}
	}
	var parts []string
	for _, c := range []string{"raw", "lossless", "f16", "bf16", "q8", "q4", "lowrank"} {
		if counts[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, counts[c]))
		}
	}
	fmt.Printf("| %s | %s | %.2f | %.2fx | %s | %.3g | %.3g | %.3g | %.2f |\n", variant, s.label,
		float64(m.StoredBytes)/1e6, float64(m.RawBytes)/float64(m.StoredBytes), strings.Join(parts, ", "),
		maxRec, math.Sqrt(num/den), maxGot, took.Seconds())
	return nil
}

// readEntry reads tensor i of src as float32.
func readEntry(src format.Source, i int, dt tensor.DType) ([]float32, error) {
	r, err := src.Open(i)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(raw)/dt.Size())
	return out, tensor.ToFloat32(dt, raw, out)
}

// castBF16 writes src with every F32 tensor cast to BF16.
func castBF16(src, dst string) error {
	in, err := format.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	entries := in.Entries()
	for i := range entries {
		if entries[i].DType == tensor.F32 {
			entries[i].DType = tensor.BF16
			entries[i].Size /= 2
		}
	}
	return safetensors.WriteFile(dst, entries, in.Metadata(), func(i int) (io.ReadCloser, error) {
		e := in.Entries()[i]
		r, err := in.Open(i)
		if err != nil || e.DType != tensor.F32 {
			return r, err
		}
		defer r.Close()
		raw, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		vals := make([]float32, len(raw)/4)
		if err := tensor.ToFloat32(tensor.F32, raw, vals); err != nil {
			return nil, err
		}
		out := make([]byte, 2*len(vals))
		if err := tensor.FromFloat32(tensor.BF16, vals, out); err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(out)), nil
	})
}
