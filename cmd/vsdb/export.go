package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/internal/progress"
	"github.com/vsdb/vsdb/planner"
	"github.com/vsdb/vsdb/tensor"
)

func runExport(ctx context.Context, db *engine.DB, c *exportCmd) error {
	if strings.TrimSpace(c.Out) == "" {
		return fmt.Errorf("vsdb: export: no output given (a .safetensors file, a folder, or - for standard output)")
	}
	var o engine.ExportOptions
	if c.ShardSize != "" {
		n, err := parseSize(c.ShardSize)
		if err != nil {
			return err
		}
		o.ShardSize = n
	}
	if c.DType != "" {
		d := strings.ToUpper(c.DType)
		if d != "F32" && d != "F16" && d != "BF16" {
			return fmt.Errorf("vsdb: --dtype is f32, f16 or bf16, not %q", c.DType)
		}
		o.DType, _ = tensor.ParseDType(d)
	}
	if c.Out == "-" && o != (engine.ExportOptions{}) {
		return fmt.Errorf("vsdb: --shard-size and --dtype need a file or folder, not standard output")
	}
	bar := progress.Start(os.Stderr, "export")
	defer bar.Done()
	ctx = planner.WithProgress(ctx, bar.Update)
	if c.Out == "-" {
		return db.ExportTo(ctx, c.Model, os.Stdout)
	}
	if err := db.ExportWith(ctx, c.Model, c.Out, o); err != nil {
		return err
	}
	bar.Done()
	fmt.Printf("exported %s to %s\n", c.Model, c.Out)
	return nil
}

// parseSize reads a byte count with an optional unit: 2GB, 512MiB, 1000.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	num, mult := strings.ToUpper(strings.TrimSpace(s)), 1.0
	for _, u := range units {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f*mult < 1 || f*mult > 1<<50 {
		return 0, fmt.Errorf("vsdb: size %q is not a byte count like 2GB, 512MiB or 1000000", s)
	}
	return int64(f * mult), nil
}
