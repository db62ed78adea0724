package lsm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vsdb/vsdb/objstore"
)

func openTiered(t *testing.T, bucket objstore.Bucket) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), Options{Tier: &TierOptions{URL: "s3://zoo/team", Bucket: bucket, LeaseTTL: time.Second,
		Policy: objstore.Policy{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond, Deadline: time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pause makes l look as if its process had been stopped for two lease
// lifetimes and then renewed it: what a SIGSTOP'd node does on SIGCONT.
func pause(t *testing.T, l *lease) {
	t.Helper()
	l.mu.Lock()
	l.lastOK = time.Now().Add(-2 * l.t.ttl)
	l.mu.Unlock()
	// A shared lease (VACUUM's lock) refuses to renew once lost.
	if err := l.write(context.Background()); err != nil && !l.shared {
		t.Fatal(err)
	}
}

// A renewal that comes after the lease may have expired does not revive
// it: whatever it protected may have been swept meanwhile.
func TestLeaseLostAfterLateRenewal(t *testing.T) {
	s := openTiered(t, objstore.NewMem())
	l, err := s.tier.takeLease(context.Background(), "ingest", "m")
	if err != nil {
		t.Fatal(err)
	}
	defer l.release()
	if err := l.valid(); err != nil {
		t.Fatalf("a fresh lease: %v", err)
	}
	pause(t, l)
	if err := l.valid(); err == nil || !strings.Contains(err.Error(), `ingest of "m" lost its lease`) {
		t.Fatalf("after a late renewal: %v", err)
	}
	if err := l.write(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.valid(); err == nil {
		t.Fatal("a lost lease came back with a timely renewal")
	}
}

// A VACUUM paused past its lock's lifetime stops before deleting anything.
func TestVacuumStopsWhenItsLockLapsed(t *testing.T) {
	bucket := objstore.NewMem()
	s := openTiered(t, bucket)
	ctx := context.Background()
	garbage := "chunks/ab/ab" + strings.Repeat("0", 62)
	if err := bucket.Put(ctx, garbage, []byte("x")); err != nil {
		t.Fatal(err)
	}
	defer func() { pauseBeforeSweep = func(*lease) {} }()
	pauseBeforeSweep = func(l *lease) { pause(t, l) }
	rep, err := s.Vacuum(ctx)
	if err == nil || !strings.Contains(err.Error(), "VACUUM lost its lease locks/vacuum") || rep.Deleted != 0 {
		t.Fatalf("VACUUM after a pause: %+v, %v", rep, err)
	}
	if len(bucket.Keys(garbage)) != 1 {
		t.Fatal("a VACUUM that lost its lock deleted a chunk")
	}
	pauseBeforeSweep = func(*lease) {}
	if rep, err := s.Vacuum(ctx); err != nil || rep.Deleted != 1 {
		t.Fatalf("VACUUM: %+v, %v", rep, err)
	}
}

func TestTierParams(t *testing.T) {
	for _, c := range []struct{ url, err string }{
		{"s3://zoo?lease=10ms", "at least 1s"},
		{"s3://zoo?lease=1ns", "at least 1s"},
		{"s3://zoo?lease=soon", "expected a duration"},
		{"s3://zoo?cache=NaNGiB", "cache="},
		{"s3://zoo?cache=InfGiB", "cache="},
		{"s3://zoo?cache=99999999999999999999GiB", "cache="},
		{"s3://zoo?cache=0", "cache="},
		{"s3://zoo?colour=blue", `unknown parameter "colour"`},
	} {
		_, err := newTier(TierOptions{URL: c.url, Bucket: objstore.NewMem()})
		if err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "vsdb: ") {
			t.Errorf("%s: %v, want an error containing %q", c.url, err, c.err)
		}
	}
	tr, err := newTier(TierOptions{URL: "s3://zoo?cache=512MiB&lease=90s", Bucket: objstore.NewMem()})
	if err != nil || tr.budget != 512<<20 || tr.ttl != 90*time.Second {
		t.Fatalf("cache=512MiB&lease=90s: %v", err)
	}
}

// An ingest waits for a running VACUUM, but not for ever: a lock that
// outlives two lease lifetimes (a clock far ahead, a forged lock) is
// reported with its holder.
func TestLeaseWaitForVacuumIsBounded(t *testing.T) {
	bucket := objstore.NewMem()
	s := openTiered(t, bucket)
	ctx := context.Background()
	lock := `{"node":"deadbeef","op":"VACUUM","expires":"2099-01-01T00:00:00Z"}`
	if err := bucket.Put(ctx, objVacuum, []byte(lock)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := s.tier.takeLease(ctx, "ingest", "m")
	if err == nil || !strings.Contains(err.Error(), "VACUUM is running on node deadbeef") {
		t.Fatalf("takeLease under a live VACUUM lock: %v", err)
	}
	if el := time.Since(start); el > time.Minute {
		t.Fatalf("waited %s", el)
	}
	if n := len(bucket.Keys(objLeases)); n != 0 {
		t.Fatalf("the refused ingest left %d leases", n)
	}
}

// A VACUUM paused past its lock's lifetime while another node's VACUUM
// took the lock neither renews, nor removes, nor sweeps under that lock.
func TestVacuumLeavesAnotherNodesLock(t *testing.T) {
	bucket := objstore.NewMem()
	paused, other := openTiered(t, bucket), openTiered(t, bucket)
	ctx := context.Background()
	garbage := "chunks/ab/ab" + strings.Repeat("0", 62)
	if err := bucket.Put(ctx, garbage, []byte("x")); err != nil {
		t.Fatal(err)
	}
	var theirs *lease
	defer func() { pauseBeforeSweep = func(*lease) {} }()
	pauseBeforeSweep = func(l *lease) {
		pauseBeforeSweep = func(*lease) {}
		// While this VACUUM sleeps, its lock expires and another takes it.
		l.mu.Lock()
		l.lastOK = time.Now().Add(-2 * l.t.ttl)
		l.mu.Unlock()
		if err := bucket.Delete(ctx, objVacuum); err != nil {
			t.Fatal(err)
		}
		var err error
		if theirs, err = other.tier.lockVacuum(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, err := paused.Vacuum(ctx)
	if err == nil || !strings.Contains(err.Error(), "lost its lease") {
		t.Fatalf("the paused VACUUM: %v", err)
	}
	defer theirs.release()
	if err := theirs.held(ctx); err != nil {
		t.Fatalf("the other node's lock after the paused VACUUM ended: %v", err)
	}
	if len(bucket.Keys(garbage)) != 1 {
		t.Fatal("the paused VACUUM deleted a chunk under another node's lock")
	}
	// Its renewals do not overwrite the other's lock either.
	lost := &lease{t: paused.tier, key: objVacuum, rec: leaseRecord{Node: paused.tier.node, Nonce: "mine"}, shared: true, lastOK: time.Now()}
	if err := lost.write(ctx); err == nil {
		t.Fatal("a renewal overwrote another holder's lock")
	}
	if err := theirs.held(ctx); err != nil {
		t.Fatalf("after a stale renewal: %v", err)
	}
}

func TestIsRoot(t *testing.T) {
	for key, want := range map[string]bool{
		"models/m": true, "models/my%20model": true, "holds/ab12/m": true,
		"models/sub/x": false, "models/": false, "holds/ab12": false, "holds//m": false,
		"holds/ab12/sub/x": false, "chunks/ab/cd": false, "models/a%2": false,
	} {
		if got := isRoot(key); got != want {
			t.Errorf("isRoot(%q) = %v, want %v", key, got, want)
		}
	}
}

// A cache whose budget was lowered since the last run shrinks at open.
func TestChunkCacheShrinksToALoweredBudget(t *testing.T) {
	dir, bucket := t.TempDir(), objstore.NewMem()
	open := func(budget int64) *Store {
		s, err := Open(dir, Options{Tier: &TierOptions{URL: "s3://zoo/team", Bucket: bucket, CacheBytes: budget, LeaseTTL: time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open(4 << 20)
	for i := range 6 {
		var h [32]byte
		h[0] = byte(i + 1)
		s.tier.cache.put(h, make([]byte, 512<<10))
	}
	if got := s.tier.cache.stats().Bytes; got != 3<<20 {
		t.Fatalf("cached %d bytes, want 3 MiB", got)
	}
	s.Close()
	s = open(1 << 20)
	defer s.Close()
	if got := s.tier.cache.stats(); got.Bytes > 1<<20 || got.Entries != int(got.Bytes/(512<<10)) {
		t.Fatalf("after reopening with a 1 MiB budget: %+v", got)
	}
}
