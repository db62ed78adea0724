package engine

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/objstore"
)

// testPolicy retries quickly so that fault tests end fast.
var testPolicy = objstore.Policy{Attempts: 3, Base: time.Millisecond, Max: 5 * time.Millisecond, Deadline: 2 * time.Second}

// openNode opens a store (a "node") whose chunks live in bucket, with
// small chunks; its consistency is checked when the test ends.
func openNode(t *testing.T, bucket objstore.Bucket, dir string) *DB {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	db := openNodeWith(t, bucket, dir, testPolicy)
	t.Cleanup(func() {
		if db.store == nil {
			return
		}
		problems, err := db.Check("")
		if err != nil {
			t.Errorf("consistency check: %v", err)
		}
		for _, p := range problems {
			t.Errorf("consistency check: %s", p)
		}
		db.Close()
	})
	return db
}

// ingestAndAttach ingests path as name on node from and attaches it on to.
func ingestAndAttach(t *testing.T, from, to *DB, path, name string) {
	t.Helper()
	ctx := context.Background()
	if _, err := from.Ingest(ctx, path, IngestOptions{Name: name}); err != nil {
		t.Fatal(err)
	}
	if _, err := to.Attach(ctx, name, ""); err != nil {
		t.Fatal(err)
	}
}

// openNodeWith opens a node with a retry policy; the caller closes it.
func openNodeWith(t *testing.T, bucket objstore.Bucket, dir string, p objstore.Policy) *DB {
	t.Helper()
	db, err := Open(dir, Options{ChunkBytes: 64, Storage: lsm.Options{Tier: &lsm.TierOptions{
		URL: "s3://zoo/team", Bucket: bucket, Policy: p, LeaseTTL: time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func exportTo(t *testing.T, db *DB, model string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), model+".safetensors")
	if err := db.Export(context.Background(), model, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTierAttachFuseSameBits(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a, b := openNode(t, bucket, ""), openNode(t, bucket, "")
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	if _, err := a.Ingest(ctx, in, IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	if got := bucket.Keys("models/"); len(got) != 1 || got[0] != "models/m" {
		t.Fatalf("manifests %v, want [models/m]", got)
	}
	if n := len(bucket.Keys("chunks/")); n == 0 {
		t.Fatal("no chunk objects uploaded")
	}
	if n := len(bucket.Keys("leases/")); n != 0 {
		t.Fatalf("%d leases left after the ingest", n)
	}
	names, err := b.Attach(ctx, "m", "s3://zoo/team")
	if err != nil || len(names) != 1 {
		t.Fatalf("attach: %v %v", names, err)
	}
	if len(bucket.Keys("holds/")) != 2 {
		t.Fatalf("holds %v, want one per node", bucket.Keys("holds/"))
	}
	assertSameCheckpoint(t, in, exportTo(t, b, "m"))
	const fuse = "FUSE m:encoder.layer.0, m:encoder.layer.1 WEIGHTS 0.25, 0.75 INTO %s"
	for _, n := range []struct {
		db   *DB
		into string
	}{{a, "fa"}, {b, "fb"}} {
		if _, err := n.db.Query(ctx, strings.Replace(fuse, "%s", n.into, 1)); err != nil {
			t.Fatal(err)
		}
	}
	assertSameCheckpoint(t, exportTo(t, a, "fa"), exportTo(t, b, "fb"))
	if _, err := b.Attach(ctx, "m", "s3://other/place"); err == nil || !strings.Contains(err.Error(), "s3://zoo/team, not s3://other/place") {
		t.Fatalf("attach from another bucket: %v", err)
	}
	if _, err := b.Attach(ctx, "nope", ""); err == nil || !strings.Contains(err.Error(), `no model "nope" in s3://zoo/team`) {
		t.Fatalf("attach of a missing model: %v", err)
	}
}

func TestTierDedup(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a := openNode(t, bucket, "")
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	if _, err := a.Ingest(ctx, in, IngestOptions{Name: "m1"}); err != nil {
		t.Fatal(err)
	}
	before, puts := len(bucket.Keys("chunks/")), bucket.Requests("PUT")
	if _, err := a.Ingest(ctx, in, IngestOptions{Name: "m2"}); err != nil {
		t.Fatal(err)
	}
	if after := len(bucket.Keys("chunks/")); after != before {
		t.Fatalf("second ingest of the same model added %d chunk objects", after-before)
	}
	// The second ingest writes its lease (and renewals), its hold and its
	// manifest, and no chunk.
	if extra := bucket.Requests("PUT") - puts; extra > 4 {
		t.Fatalf("second ingest made %d PUTs", extra)
	}
	info, ok, err := a.Tier()
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if info.DistinctChunks != int64(before) || info.DedupRatio != 2 || info.UniqueBytes*2 != info.LogicalBytes {
		t.Fatalf("tier stats %+v, want %d distinct chunks, dedup 2", info, before)
	}
}

func TestTierColdThenWarm(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a := openNode(t, bucket, "")
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	if _, err := a.Ingest(ctx, in, IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	b := openNode(t, bucket, "")
	if _, err := b.Attach(ctx, "m", ""); err != nil {
		t.Fatal(err)
	}
	gets := bucket.Requests("GET")
	exportTo(t, b, "m")
	cold := bucket.Requests("GET") - gets
	if cold == 0 {
		t.Fatal("a cold read fetched nothing from the bucket")
	}
	exportTo(t, b, "m")
	if warm := bucket.Requests("GET") - gets - cold; warm != 0 {
		t.Fatalf("a warm read made %d GETs", warm)
	}
	// Reading needs no bucket once cached; the catalog never does.
	bucket.SetDown(true)
	defer bucket.SetDown(false)
	assertSameCheckpoint(t, in, exportTo(t, b, "m"))
	if _, err := b.Query(ctx, "SHOW TENSORS FROM m"); err != nil {
		t.Fatal(err)
	}
}

func TestTierFaults(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a := openNode(t, bucket, "")
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())

	bucket.FailNext(2) // transient: retried
	if _, err := a.Ingest(ctx, in, IngestOptions{Name: "m"}); err != nil {
		t.Fatalf("ingest through 2 transient failures: %v", err)
	}

	bucket.SetDown(true)
	_, err := a.Ingest(ctx, in, IngestOptions{Name: "down"})
	bucket.SetDown(false)
	if err == nil || !strings.Contains(err.Error(), "s3://zoo/team") || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("ingest with the store down: %v", err)
	}
	if ms, _ := a.Models(); len(ms) != 1 {
		t.Fatalf("a failed ingest left its model visible: %v", ms)
	}
	if len(bucket.Keys("models/down")) != 0 {
		t.Fatal("a failed ingest published a manifest")
	}

	// A corrupted object is named when read on a node without it cached.
	b := openNode(t, bucket, "")
	if _, err := b.Attach(ctx, "m", ""); err != nil {
		t.Fatal(err)
	}
	key := bucket.Keys("chunks/")[0]
	bucket.Corrupt(key, 0)
	failed := b.Export(ctx, "m", filepath.Join(t.TempDir(), "x.safetensors"))
	if failed == nil || !strings.Contains(failed.Error(), key) || !strings.Contains(failed.Error(), "corrupt") {
		t.Fatalf("read of a corrupt object: %v", failed)
	}
	bucket.Corrupt(key, 0) // mend it, or the end-of-test CHECK fails
}

func TestTierVacuum(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a := openNode(t, bucket, "")
	b := openNode(t, bucket, "")
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	ingestAndAttach(t, a, b, in, "m")
	chunks := len(bucket.Keys("chunks/"))

	// An ingest that never commits leaves chunks no manifest names.
	l, err := a.store.BeginLoad("half", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.PutChunk(0, 0, []byte("garbage chunk of an ingest that dies")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Vacuum(ctx); err == nil || !strings.Contains(err.Error(), `waits for ingest of "half"`) {
		t.Fatalf("VACUUM during an ingest: %v", err)
	}
	// The refusal leaves no lock behind: the ingest could go on.
	if len(bucket.Keys("locks/")) != 0 {
		t.Fatal("a refused VACUUM left its lock")
	}
	l.Abort()
	if got := len(bucket.Keys("chunks/")); got != chunks+1 {
		t.Fatalf("%d chunk objects, want %d", got, chunks+1)
	}
	rep, err := b.Vacuum(ctx)
	if err != nil || rep.Deleted != 1 || rep.Roots != 3 {
		t.Fatalf("VACUUM: %+v %v (want 1 deleted, 3 roots: the manifest and two holds)", rep, err)
	}

	// A deleted model's chunks stay while another node holds it.
	if err := a.DeleteModel("m"); err != nil {
		t.Fatal(err)
	}
	if rep, err := a.Vacuum(ctx); err != nil || rep.Deleted != 0 {
		t.Fatalf("VACUUM with a hold left: %+v %v", rep, err)
	}
	assertSameCheckpoint(t, in, exportTo(t, b, "m"))
	if err := b.DeleteModel("m"); err != nil { // DETACH would be refused: the last copy
		t.Fatal(err)
	}
	if rep, err := a.Vacuum(ctx); err != nil || rep.Deleted != chunks {
		t.Fatalf("VACUUM after the last hold went: %+v %v, want %d deleted", rep, err, chunks)
	}
	if n := len(bucket.Keys("")); n != 0 {
		t.Fatalf("objects left in an emptied bucket: %v", bucket.Keys(""))
	}
}

// TestTierVacuumReleasesOrphanHolds: a node killed after publishing its
// hold but before committing locally leaves a hold of a model it does not
// have; its own VACUUM releases it (another node's VACUUM must not).
func TestTierVacuumReleasesOrphanHolds(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a := openNode(t, bucket, "")
	other := openNode(t, bucket, "")
	if _, err := a.Ingest(ctx, writeCheckpoint(t, t.TempDir(), twoLayerModel()), IngestOptions{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ingest(ctx, writeCheckpoint(t, t.TempDir(), corruptionModel()), IngestOptions{Name: "y"}); err != nil {
		t.Fatal(err)
	}
	holds := bucket.Keys("holds/")
	if len(holds) != 2 {
		t.Fatalf("holds = %v", holds)
	}
	yHold := holds[1]
	if !strings.HasSuffix(yHold, "/y") {
		t.Fatalf("holds = %v", holds)
	}
	raw, err := bucket.Get(ctx, yHold)
	if err != nil {
		t.Fatal(err)
	}
	ghost := strings.TrimSuffix(yHold, "y") + "ghost"
	if err := bucket.Put(ctx, ghost, raw); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteModel("y"); err != nil {
		t.Fatal(err)
	}
	before := len(bucket.Keys("chunks/"))
	if rep, err := other.Vacuum(ctx); err != nil || rep.Deleted != 0 {
		t.Fatalf("another node's VACUUM: %+v %v; the ghost hold is not its to release", rep, err)
	}
	if len(bucket.Keys(ghost)) != 1 {
		t.Fatal("another node released this node's hold")
	}
	rep, err := a.Vacuum(ctx)
	if err != nil || rep.Deleted == 0 {
		t.Fatalf("VACUUM on the ghost's node: %+v %v; want y's chunks deleted", rep, err)
	}
	if len(bucket.Keys(ghost)) != 0 || len(bucket.Keys("chunks/")) != before-rep.Deleted {
		t.Fatalf("orphan hold kept: %v", bucket.Keys("holds/"))
	}
	assertSameCheckpoint(t, writeCheckpoint(t, t.TempDir(), twoLayerModel()), exportTo(t, a, "x"))
}

// TestTierAttachDeltaModel: a fine-tune stored as deltas against its base
// attaches on another node (its base first) and reads back the same bits.
func TestTierAttachDeltaModel(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a, b := openNode(t, bucket, ""), openNode(t, bucket, "")
	base := twoLayerModel()
	if _, err := a.Ingest(ctx, writeCheckpoint(t, t.TempDir(), base), IngestOptions{Name: "base"}); err != nil {
		t.Fatal(err)
	}
	ft := twoLayerModel()
	for i := range ft {
		ft[i].vals = append([]float32(nil), ft[i].vals...)
		if len(ft[i].vals) > 0 {
			ft[i].vals[0] += 0.5
		}
	}
	in := writeCheckpoint(t, t.TempDir(), ft)
	if _, err := a.Ingest(ctx, in, IngestOptions{Name: "ft", Base: "base"}); err != nil {
		t.Fatal(err)
	}
	names, err := b.Attach(ctx, "ft", "")
	if err != nil || strings.Join(names, ",") != "base,ft" {
		t.Fatalf("ATTACH MODEL ft = %v, %v; want its base attached first", names, err)
	}
	assertSameCheckpoint(t, in, exportTo(t, b, "ft"))
	c := openNode(t, bucket, "")
	if names, err := c.Attach(ctx, "", ""); err != nil || strings.Join(names, ",") != "base,ft" {
		t.Fatalf("ATTACH ALL = %v, %v", names, err)
	}
	assertSameCheckpoint(t, in, exportTo(t, c, "ft"))
}

// TestTierCloseStopsPrefetch: a read that fails while background fetches
// are in flight, then Close: the fetches stop before the store closes
// (they used to write to the closed cache and panic).
func TestTierCloseStopsPrefetch(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a := openNode(t, bucket, "")
	// b is closed by the test itself, so it is opened without openNode's
	// check at cleanup.
	b := openNodeWith(t, bucket, t.TempDir(), testPolicy)
	if _, err := a.Ingest(ctx, writeCheckpoint(t, t.TempDir(), twoLayerModel()), IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Attach(ctx, "m", ""); err != nil {
		t.Fatal(err)
	}
	r := b.store.Reader()
	m, _, err := r.Model("m")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := r.Tensors(m)
	r.Close()
	if err != nil || len(ts[0].Hashes) == 0 {
		t.Fatalf("tensors: %v", err)
	}
	lost := "chunks/" + ts[0].Hashes[0][:2] + "/" + ts[0].Hashes[0]
	kept, err := bucket.Get(ctx, lost)
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.Delete(ctx, lost); err != nil {
		t.Fatal(err)
	}
	bucket.SetDelay(20 * time.Millisecond)
	err = b.Export(ctx, "m", filepath.Join(t.TempDir(), "m.safetensors"))
	if err == nil || !strings.Contains(err.Error(), "is missing from s3://zoo/team") {
		t.Fatalf("export with a chunk object gone: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	bucket.SetDelay(0)
	if err := bucket.Put(ctx, lost, kept); err != nil { // for a's check
		t.Fatal(err)
	}
}

// TestTierDetachKeepsTheLastCopy: once another node deleted a model from
// the bucket, DETACH on a node that still holds it would lose its last
// copy, and is refused.
func TestTierDetachKeepsTheLastCopy(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a, b := openNode(t, bucket, ""), openNode(t, bucket, "")
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	ingestAndAttach(t, a, b, in, "x")
	if err := b.DeleteModel("x"); err != nil {
		t.Fatal(err)
	}
	err := a.Detach(ctx, "x")
	if err == nil || !strings.Contains(err.Error(), `model "x" is no longer published in s3://zoo/team`) {
		t.Fatalf("DETACH of the last copy: %v", err)
	}
	if rep, err := a.Vacuum(ctx); err != nil || rep.Deleted != 0 {
		t.Fatalf("VACUUM: %+v %v", rep, err)
	}
	assertSameCheckpoint(t, in, exportTo(t, a, "x"))
}

// TestTierAttachAllSkipsBadManifests: one damaged manifest does not keep
// ATTACH ALL from the good ones, and the error names both; keys vsdb did
// not write are no models.
func TestTierAttachAllSkipsBadManifests(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a, b := openNode(t, bucket, ""), openNode(t, bucket, "")
	in := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	if _, err := a.Ingest(ctx, in, IngestOptions{Name: "good"}); err != nil {
		t.Fatal(err)
	}
	for key, data := range map[string]string{"models/junk": "not a manifest", "models/sub/x": "foreign"} {
		if err := bucket.Put(ctx, key, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	names, err := b.Attach(ctx, "", "")
	if err == nil || !strings.Contains(err.Error(), "ATTACH ALL attached 1 model (good); 1 could not be: ") || !strings.Contains(err.Error(), "models/junk") {
		t.Fatalf("ATTACH ALL = %v, %v", names, err)
	}
	if strings.Join(names, ",") != "good" {
		t.Fatalf("attached %v", names)
	}
	assertSameCheckpoint(t, in, exportTo(t, b, "good"))
	if err := bucket.Delete(ctx, "models/junk"); err != nil {
		t.Fatal(err)
	}
	if names, err := openNode(t, bucket, "").Attach(ctx, "", ""); err != nil || strings.Join(names, ",") != "good" {
		t.Fatalf("ATTACH ALL with a foreign key only: %v, %v", names, err)
	}
}

// TestTierNameReusedByAnotherModel: a name deleted from the bucket and
// published again for another model is another model: a node holding the
// old one may neither DETACH it (its last copy) nor, by DELETE MODEL,
// unpublish the new one.
func TestTierNameReusedByAnotherModel(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	p1, p2, p3, p4 := openNode(t, bucket, ""), openNode(t, bucket, ""), openNode(t, bucket, ""), openNode(t, bucket, "")
	old := writeCheckpoint(t, t.TempDir(), twoLayerModel())
	renewed := writeCheckpoint(t, t.TempDir(), corruptionModel())
	ingestAndAttach(t, p1, p2, old, "mm")
	if err := p2.DeleteModel("mm"); err != nil {
		t.Fatal(err)
	}
	if _, err := p3.Ingest(ctx, renewed, IngestOptions{Name: "mm"}); err != nil {
		t.Fatal(err)
	}
	if err := p1.Detach(ctx, "mm"); err == nil || !strings.Contains(err.Error(), "is no longer published") {
		t.Fatalf("DETACH of a model whose name was reused: %v", err)
	}
	if rep, err := p3.Vacuum(ctx); err != nil || rep.Deleted != 0 {
		t.Fatalf("VACUUM: %+v %v", rep, err)
	}
	assertSameCheckpoint(t, old, exportTo(t, p1, "mm"))
	if err := p1.DeleteModel("mm"); err != nil {
		t.Fatal(err)
	}
	if _, err := p4.Attach(ctx, "mm", ""); err != nil {
		t.Fatalf("the new mm after the old one's DELETE elsewhere: %v", err)
	}
	assertSameCheckpoint(t, renewed, exportTo(t, p4, "mm"))
}

// TestTierTensorToFailsBeforeWriting: streaming a cold tensor while the
// object store is down fails before the first byte (a server can still
// answer with an error status).
func TestTierTensorToFailsBeforeWriting(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a, b := openNode(t, bucket, ""), openNode(t, bucket, "")
	if _, err := a.Ingest(ctx, writeCheckpoint(t, t.TempDir(), twoLayerModel()), IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Attach(ctx, "m", ""); err != nil {
		t.Fatal(err)
	}
	bucket.SetDown(true)
	var out bytes.Buffer
	err := b.TensorTo(ctx, "m", "encoder.layer.0.attn.weight", &out, nil)
	_, qerr := b.Query(ctx, "FUSE m:encoder.layer.0, m:encoder.layer.1 WEIGHTS 0.5, 0.5")
	bucket.SetDown(false)
	if err == nil || !strings.Contains(err.Error(), "gave up after") || out.Len() != 0 || !errors.Is(err, ErrObjectStore) {
		t.Fatalf("TensorTo with the store down: %v after %d bytes", err, out.Len())
	}
	if !errors.Is(qerr, ErrObjectStore) {
		t.Fatalf("FUSE with the store down: %v; want an error matching ErrObjectStore", qerr)
	}
	out.Reset()
	if err := b.TensorTo(ctx, "m", "encoder.layer.0.attn.weight", &out, nil); err != nil || out.Len() == 0 {
		t.Fatalf("TensorTo with the store back: %v", err)
	}
}

// TestTierReadsEndWithTheStatement: a statement reading cold chunks from a
// store that is down ends when its context does, not when the retry
// policy gives up.
func TestTierReadsEndWithTheStatement(t *testing.T) {
	ctx := context.Background()
	bucket := objstore.NewMem()
	a := openNode(t, bucket, "")
	if _, err := a.Ingest(ctx, writeCheckpoint(t, t.TempDir(), twoLayerModel()), IngestOptions{Name: "m"}); err != nil {
		t.Fatal(err)
	}
	patient := objstore.Policy{Attempts: 1000, Base: 20 * time.Millisecond, Max: 100 * time.Millisecond, Deadline: time.Hour}
	b := openNodeWith(t, bucket, t.TempDir(), patient)
	defer b.Close()
	if _, err := b.Attach(ctx, "m", ""); err != nil {
		t.Fatal(err)
	}
	bucket.SetDown(true)
	defer bucket.SetDown(false)
	for _, stmt := range []string{
		"FUSE m:encoder.layer.0, m:encoder.layer.1 WEIGHTS 0.5, 0.5",
		"GET m:encoder.layer.0.attn.weight",
	} {
		qctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err := b.Query(qctx, stmt)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s with the store down and a 200ms statement: %v", stmt, err)
		}
	}
	qctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := b.ExportTo(qctx, "m", io.Discard); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("export with the store down and a 200ms context: %v", err)
	}
}
