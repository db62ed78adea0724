package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/tensor"
)

// A checkpoint with two layers of one parameter each, made for the example.
func writeExampleCheckpoint(path string) error {
	a := []float32{1, 2, 3, 4}
	b := []float32{3, 2, 1, 0}
	data := [][]byte{make([]byte, 16), make([]byte, 16)}
	tensor.FromFloat32(tensor.F32, a, data[0])
	tensor.FromFloat32(tensor.F32, b, data[1])
	entries := []format.Entry{
		{Name: "layers.0.w", DType: tensor.F32, Shape: tensor.Shape{2, 2}, Size: 16},
		{Name: "layers.1.w", DType: tensor.F32, Shape: tensor.Shape{2, 2}, Size: 16},
	}
	return safetensors.WriteFile(path, entries, nil, func(i int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data[i])), nil
	})
}

func Example() {
	dir, _ := os.MkdirTemp("", "vsdb-example-")
	defer os.RemoveAll(dir)
	ckpt := filepath.Join(dir, "tiny.safetensors")
	if err := writeExampleCheckpoint(ckpt); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	db, err := engine.Open(filepath.Join(dir, "store"), engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	m, err := db.Ingest(ctx, ckpt, engine.IngestOptions{Name: "tiny"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ingested", m.Name, "with", m.Tensors, "tensors")

	res, err := db.Query(ctx, "FUSE tiny:layers.0, tiny:layers.1 WEIGHTS 0.5, 0.5")
	if err != nil {
		log.Fatal(err)
	}
	values, _ := res.Tensors[0].Float32s()
	fmt.Println(res.Tensors[0].Name, res.Tensors[0].Shape, values)

	t, err := db.Tensor("tiny", "layers.1.w")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Name, t.DType, t.Shape, len(t.Data), "bytes")

	if err := db.Export(ctx, "tiny", filepath.Join(dir, "out.safetensors")); err != nil {
		log.Fatal(err)
	}
	// Output:
	// ingested tiny with 2 tensors
	// layers.0.w [2, 2] [2 2 2 2]
	// layers.1.w F32 [2, 2] 16 bytes
}
