// Command tier measures the object-store tier on a real model against a
// real SeaweedFS S3 gateway on loopback (started here through
// internal/s3test; $VSDB_WEED names the binary, scripts/weed.sh builds it):
//
//   - ingest: vsdb ingest into a local store, and into a store whose
//     chunks go to the bucket; the peer is one PUT of the checkpoint file
//     itself (minio-go, multipart), the least any upload of it costs;
//   - cold read: every tensor of the model, decoded, on a node that just
//     attached it (nothing cached), against the same read from the local
//     store and against one GET of the checkpoint file;
//   - warm read: the same read again on that node (chunks in its local
//     cache), against the local store.
//
// Best of -runs runs each; one table with the ratios. Run by bench/tier.sh.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/internal/s3test"
	"github.com/vsdb/vsdb/objstore"
)

func main() {
	runs := flag.Int("runs", 3, "runs of each measurement; the best is reported")
	flag.BoolVar(&keep, "keep", false, "keep the work folder (stores, object server data and log)")
	flag.StringVar(&coldProfile, "coldprofile", "", "write a CPU profile of the cold reads to this file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: tier [-runs N] MODEL.safetensors")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *runs); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

var keep bool

type bench struct {
	ctx    context.Context
	model  string
	raw    int64
	work   string
	url    string
	bucket objstore.Bucket
	nodes  int
}

func run(model string, runs int) error {
	bin := s3test.Binary()
	if bin == "" {
		return fmt.Errorf("tier: $VSDB_WEED names no weed binary (source scripts/weed.sh)")
	}
	work, err := os.MkdirTemp("", "vsdb-tier-bench-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "work folder:", work)
	} else {
		defer os.RemoveAll(work)
	}
	srv, err := s3test.New(bin, filepath.Join(work, "weed"))
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Stop()
	if err := srv.CreateBucket("bench"); err != nil {
		return err
	}
	st, err := os.Stat(model)
	if err != nil {
		return err
	}
	b := &bench{ctx: context.Background(), model: model, raw: st.Size(), work: work, url: srv.URL("bench", "zoo", "")}
	cfg, _ := objstore.ParseURL(b.url)
	s3, err := objstore.Open(cfg)
	if err != nil {
		return err
	}
	b.bucket = s3
	return b.report(runs)
}

// best runs fn n times and returns the shortest time.
func best(n int, fn func(i int) error) (time.Duration, error) {
	min := time.Duration(1<<63 - 1)
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := fn(i); err != nil {
			return 0, err
		}
		min = minDur(min, time.Since(start))
	}
	return min, nil
}

func minDur(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

func (b *bench) open(store string) (*engine.DB, error) {
	b.nodes++
	return engine.Open(filepath.Join(b.work, fmt.Sprintf("node%d", b.nodes)), engine.Options{Store: store})
}

func (b *bench) report(runs int) error {
	file, err := os.ReadFile(b.model)
	if err != nil {
		return err
	}
	local, err := b.open("")
	if err != nil {
		return err
	}
	defer local.Close()
	tiered, err := b.open(b.url)
	if err != nil {
		return err
	}
	defer tiered.Close()
	name := func(prefix string, i int) string { return fmt.Sprintf("%s%d", prefix, i) }

	putFile, err := best(runs, func(i int) error { return b.bucket.Put(b.ctx, name("raw/file", i), file) })
	if err != nil {
		return err
	}
	ingLocal, err := best(runs, func(i int) error {
		_, err := local.Ingest(b.ctx, b.model, engine.IngestOptions{Name: name("m", i)})
		return err
	})
	if err != nil {
		return err
	}
	// The first ingest into the bucket uploads every chunk; later ones
	// find them there (dedup) and upload only the manifest.
	first := time.Now()
	if _, err := tiered.Ingest(b.ctx, b.model, engine.IngestOptions{Name: "m"}); err != nil {
		return err
	}
	ingTier := time.Since(first)
	ingDedup, err := best(runs, func(i int) error {
		_, err := tiered.Ingest(b.ctx, b.model, engine.IngestOptions{Name: name("again", i)})
		return err
	})
	if err != nil {
		return err
	}

	readLocal, err := best(runs, func(int) error { return local.ExportTo(b.ctx, "m0", io.Discard) })
	if err != nil {
		return err
	}
	getFile, err := best(runs, func(int) error {
		got, err := b.bucket.Get(b.ctx, "raw/file0")
		if err == nil && !bytes.Equal(got[:64], file[:64]) {
			err = fmt.Errorf("tier: the file read back differs")
		}
		return err
	})
	if err != nil {
		return err
	}
	getChunks, err := best(runs, b.getChunks)
	if err != nil {
		return err
	}
	var warmNode *engine.DB
	cold, attach := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range runs {
		if warmNode != nil {
			warmNode.Close()
		}
		if warmNode, err = b.open(b.url); err != nil {
			return err
		}
		start := time.Now()
		if _, err := warmNode.Attach(b.ctx, "m", ""); err != nil {
			return err
		}
		attach = minDur(attach, time.Since(start))
		stop := startProfile()
		start = time.Now()
		err := warmNode.ExportTo(b.ctx, "m", io.Discard)
		cold = minDur(cold, time.Since(start))
		stop()
		if err != nil {
			return err
		}
	}
	defer warmNode.Close()
	warm, err := best(runs, func(int) error { return warmNode.ExportTo(b.ctx, "m", io.Discard) })
	if err != nil {
		return err
	}
	mb := float64(b.raw) / 1e6
	rate := func(d time.Duration) string { return fmt.Sprintf("%.0f MB/s", mb/d.Seconds()) }
	fmt.Printf("model %s: %.1f MB; best of %d runs; weed on loopback\n\n", filepath.Base(b.model), mb, runs)
	fmt.Println("| measurement | s | rate | ratio |")
	fmt.Println("| --- | ---: | ---: | ---: |")
	row := func(what string, d time.Duration, ratio string) {
		fmt.Printf("| %s | %.3f | %s | %s |\n", what, d.Seconds(), rate(d), ratio)
	}
	row("ingest, local store", ingLocal, "1.00")
	row("ingest, chunks to the bucket (first: all uploaded)", ingTier, fmt.Sprintf("%.2f × local", ingTier.Seconds()/ingLocal.Seconds()))
	row("ingest of the same model again (dedup: no chunk uploaded)", ingDedup, fmt.Sprintf("%.2f × local", ingDedup.Seconds()/ingLocal.Seconds()))
	row("peer: one PUT of the checkpoint file (minio-go)", putFile, fmt.Sprintf("tier ingest %.2f × this", ingTier.Seconds()/putFile.Seconds()))
	row("read all tensors, local store", readLocal, "1.00")
	fmt.Printf("| ATTACH on a fresh node (manifest, catalog, hold) | %.3f | | |\n", attach.Seconds())
	row("read all tensors, cold (fresh node, nothing cached)", cold, fmt.Sprintf("%.2f × local", cold.Seconds()/readLocal.Seconds()))
	row("read all tensors, warm (local chunk cache)", warm, fmt.Sprintf("%.2f × local", warm.Seconds()/readLocal.Seconds()))
	row("peer: one GET of the checkpoint file (minio-go)", getFile, fmt.Sprintf("cold read %.2f × this", cold.Seconds()/getFile.Seconds()))
	row("peer: GET of the same chunk objects, 8 at a time, nothing else (minio-go)", getChunks, fmt.Sprintf("cold read %.2f × this", cold.Seconds()/getChunks.Seconds()))
	info, _, err := warmNode.Tier()
	if err == nil {
		fmt.Printf("\nwarm node cache: %d chunks, %.1f MB, %d hits, %d misses\n", info.CacheEntries, float64(info.CacheBytes)/1e6, info.CacheHits, info.CacheMisses)
	}
	if info, _, err := tiered.Tier(); err == nil {
		fmt.Printf("ingest node: %d models, %d chunk refs, %d distinct chunks, dedup %.2f\n", info.RemoteModels, info.ChunkRefs, info.DistinctChunks, info.DedupRatio)
	}
	return nil
}

// coldProfile names the file -coldprofile writes; the profile covers every
// cold read (the last one's, as each run overwrites it).
var coldProfile string

// startProfile starts a CPU profile of a cold read when asked for one.
func startProfile() (stop func()) {
	if coldProfile == "" {
		return func() {}
	}
	f, err := os.Create(coldProfile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vsdb: -coldprofile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintln(os.Stderr, "vsdb: -coldprofile:", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// getChunks fetches every chunk object of the bucket, 8 at a time, and
// does nothing with them: the object server's share of a cold read.
func (b *bench) getChunks(int) error {
	var keys []string
	if err := b.bucket.List(b.ctx, "chunks/", func(i objstore.Info) error {
		keys = append(keys, i.Key)
		return nil
	}); err != nil {
		return err
	}
	jobs := make(chan string)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var first error
			for k := range jobs {
				if _, err := b.bucket.Get(b.ctx, k); err != nil && first == nil {
					first = err
				}
			}
			errs <- first
		}()
	}
	for _, k := range keys {
		jobs <- k
	}
	close(jobs)
	var first error
	for range 8 {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
