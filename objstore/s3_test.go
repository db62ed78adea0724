package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vsdb/vsdb/internal/s3test"
	"github.com/vsdb/vsdb/objstore"
)

func open(t *testing.T, url string) *objstore.S3 {
	t.Helper()
	c, err := objstore.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	b, err := objstore.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestS3AgainstSeaweedFS runs every Bucket call against a real S3 gateway:
// a multipart upload, ranged reads, listing under a prefix, and the errors
// a caller must tell apart (missing object, missing bucket, no server).
func TestS3AgainstSeaweedFS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an object server")
	}
	srv := s3test.Require(t)
	if err := srv.CreateBucket("objs"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b := open(t, srv.URL("objs", "p/q", ""))

	big := make([]byte, 40<<20+123) // three parts of 16 MiB
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	if err := b.Put(ctx, "chunks/big", big); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "models/m", []byte("manifest")); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, "chunks/big")
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get of the multipart object: %d bytes, %v", len(got), err)
	}
	part, err := b.GetRange(ctx, "chunks/big", 17<<20+5, 1000)
	if err != nil || !bytes.Equal(part, big[17<<20+5:17<<20+1005]) {
		t.Fatalf("GetRange: %v", err)
	}
	info, err := b.Stat(ctx, "chunks/big")
	if err != nil || info.Size != int64(len(big)) {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	var keys []string
	if err := b.List(ctx, "", func(i objstore.Info) error { keys = append(keys, i.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "chunks/big,models/m" {
		t.Fatalf("List under the prefix = %v (keys are relative to it)", keys)
	}
	if _, err := b.Get(ctx, "chunks/absent"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Get of a missing object = %v, want ErrNotFound", err)
	}
	if _, err := b.Stat(ctx, "chunks/absent"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Stat of a missing object = %v, want ErrNotFound", err)
	}
	if err := b.Delete(ctx, "chunks/big"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "chunks/big"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("Stat after Delete = %v", err)
	}

	nb := open(t, srv.URL("nosuchbucket", "", ""))
	err = nb.Put(ctx, "k", []byte("v"))
	if !objstore.IsPermanent(err) || !strings.Contains(err.Error(), `bucket "nosuchbucket" does not exist`) {
		t.Fatalf("Put into a missing bucket = %v; want a permanent error naming the bucket", err)
	}

	srv.Stop()
	quick := objstore.Policy{Attempts: 3, Base: 10 * time.Millisecond, Max: 50 * time.Millisecond, Deadline: 10 * time.Second}
	_, err = objstore.Retry(b, quick).Get(ctx, "models/m")
	if err == nil || objstore.IsPermanent(err) || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("Get from a stopped server = %v; want a retried 'unreachable' error", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	got, err = objstore.Retry(b, objstore.DefaultPolicy).Get(ctx, "models/m")
	if err != nil || string(got) != "manifest" {
		t.Fatalf("Get after the server restarted = %q, %v", got, err)
	}
}
