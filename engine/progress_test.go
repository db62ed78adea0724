package engine

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/planner"
	"github.com/vsdb/vsdb/tensor"
)

// progressLog records the reports of one piece of work.
type progressLog struct {
	first, last [2]int64
	n           int
	err         error
}

func (l *progressLog) report(done, total int64) {
	switch {
	case l.n == 0:
		l.first = [2]int64{done, total}
	case done < l.last[0] || total != l.last[1]:
		l.err = fmt.Errorf("(%d, %d) after (%d, %d)", done, total, l.last[0], l.last[1])
	}
	l.last = [2]int64{done, total}
	l.n++
}

// watch runs work with a progress function in its context and checks that
// it reported (0, total) first, never went back, and ended at (total,
// total).
func watch(t *testing.T, what string, total int64, work func(ctx context.Context) error) {
	t.Helper()
	var l progressLog
	if err := work(planner.WithProgress(context.Background(), l.report)); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if l.err != nil || l.first != [2]int64{0, total} || l.last != [2]int64{total, total} {
		t.Errorf("%s: %d reports, first %v, last %v, error %v; want (0, %d) to (%d, %d)", what, l.n, l.first, l.last, l.err, total, total, total)
	}
}

// tensorBytes sums the tensor bytes of a safetensors file (or folder).
func tensorBytes(t *testing.T, path string) int64 {
	t.Helper()
	src, err := format.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var n int64
	for _, e := range src.Entries() {
		n += e.Size
	}
	return n
}

// TestProgressReports: INGEST and COMPRESS (through the context or
// IngestOptions.Progress) report the raw bytes loaded, EXPORT the tensor
// bytes written (cast, sharded or streamed).
func TestProgressReports(t *testing.T) {
	dir := t.TempDir()
	in := writeCheckpoint(t, dir, lossyModel())
	raw := tensorBytes(t, in)
	db := openTest(t, "lossless")
	watch(t, "ingest", raw, func(ctx context.Context) error {
		_, err := db.Ingest(ctx, in, IngestOptions{Name: "m"})
		return err
	})
	var l progressLog
	if _, err := db.Ingest(context.Background(), in, IngestOptions{Name: "m2", Progress: l.report}); err != nil || l.last != [2]int64{raw, raw} {
		t.Errorf("IngestOptions.Progress: %v, last report %v", err, l.last)
	}
	watch(t, "COMPRESS", raw, func(ctx context.Context) error {
		_, err := db.Query(ctx, "COMPRESS m CODEC q8 INTO m8")
		return err
	})
	one := filepath.Join(dir, "one.safetensors")
	watch(t, "export", raw, func(ctx context.Context) error { return db.ExportWith(ctx, "m", one, ExportOptions{}) })
	half := filepath.Join(dir, "half.safetensors")
	watch(t, "export as F16", raw-1200*2, func(ctx context.Context) error {
		return db.ExportWith(ctx, "m", half, ExportOptions{DType: tensor.F16})
	})
	if got := tensorBytes(t, half); got != raw-1200*2 {
		t.Errorf("the F16 export holds %d tensor bytes", got)
	}
	watch(t, "sharded EXPORT", raw, func(ctx context.Context) error {
		_, err := db.Query(ctx, fmt.Sprintf("EXPORT m TO '%s' (shard_size = 2000)", filepath.Join(dir, "shards")))
		return err
	})
	watch(t, "export to a stream", raw, func(ctx context.Context) error { return db.ExportTo(ctx, "m", io.Discard) })
}
