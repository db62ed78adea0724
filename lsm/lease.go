package lsm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vsdb/vsdb/objstore"
)

// A lease announces, in the bucket, an ingest or an attach in progress:
// chunks it uploaded or found already there are about to be referenced by
// a manifest or hold that does not exist yet. VACUUM does not run while an
// unexpired lease exists, and an operation does not start while VACUUM's
// lock exists. Each side writes its own object first and then looks for
// the other's, so with a bucket that lists what was written before
// (S3 has been strongly consistent since 2020; SeaweedFS is) at least one
// of the two sees the other and backs off. A lease is renewed every third
// of its lifetime; an operation whose lease could not be renewed in time
// gives up before writing its manifest. See docs/SCALE.md.
type leaseRecord struct {
	Node    string    `json:"node"`
	Op      string    `json:"op"`
	Model   string    `json:"model,omitempty"`
	Expires time.Time `json:"expires"`
	// Nonce tells this holder's writes from another's under a shared key
	// (VACUUM's lock).
	Nonce string `json:"nonce,omitempty"`
}

type lease struct {
	t      *tier
	key    string
	rec    leaseRecord
	mu     sync.Mutex
	lastOK time.Time
	// lost is set once a renewal came too late: the lease may have
	// expired in between (the process was paused, or the bucket out of
	// reach), and whatever it protected may have been acted on by another
	// node. A lost lease stays lost even if later renewals succeed.
	lost bool
	// shared marks a key other holders may write (VACUUM's lock): it is
	// renewed and removed only while the object there is still this
	// holder's.
	shared bool
	stop   chan struct{}
	done   chan struct{}
}

func nonce() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// takeLease writes a lease for op on model, waiting (up to ctx) while
// VACUUM runs.
func (t *tier) takeLease(ctx context.Context, op, model string) (*lease, error) {
	l := &lease{t: t, key: objLeases + t.node + "-" + nonce(), rec: leaseRecord{Node: t.node, Op: op, Model: model}}
	// A VACUUM renews its lock while it runs; one that stays longer than
	// two lifetimes is more likely a lock with a clock far ahead.
	giveUp := time.Now().Add(2 * t.ttl)
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		if err := l.write(ctx); err != nil {
			return nil, t.remoteErr(op+" of "+fmt.Sprintf("%q", model)+": writing its lease", err)
		}
		vac, running, err := t.lockHolder(ctx)
		if err != nil {
			l.t.bucket.Delete(context.Background(), l.key)
			return nil, t.remoteErr(op+": looking for a running VACUUM", err)
		}
		if !running {
			break
		}
		t.bucket.Delete(ctx, l.key)
		busy := fmt.Errorf("vsdb: %s of %q: VACUUM is running on node %s (its lock %s runs until %s); try again when it ends", op, model, vac.Node, objVacuum, vac.Expires.Format(time.RFC3339))
		if time.Now().Add(wait).After(giveUp) {
			return nil, busy
		}
		select {
		case <-ctx.Done():
			return nil, busy
		case <-time.After(wait):
		}
	}
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.renew()
	return l, nil
}

func (l *lease) write(ctx context.Context) error {
	start := time.Now()
	l.mu.Lock()
	renewal := !l.lastOK.IsZero()
	if renewal && start.Sub(l.lastOK) > l.t.ttl*3/4 {
		l.lost = true
	}
	lost := l.lost
	l.mu.Unlock()
	if l.shared && lost {
		return fmt.Errorf("%s was lost", l.key) // another holder may have it now
	}
	if l.shared && renewal {
		if err := l.owned(ctx); err != nil {
			return err
		}
	}
	l.rec.Expires = start.Add(l.t.ttl).UTC()
	b, _ := json.Marshal(l.rec)
	if err := l.t.bucket.Put(ctx, l.key, b); err != nil {
		return err
	}
	l.mu.Lock()
	l.lastOK = start
	l.mu.Unlock()
	return nil
}

// owned checks that the object at a shared key is still this holder's,
// marking the lease lost when it is not.
func (l *lease) owned(ctx context.Context) error {
	b, err := l.t.bucket.Get(ctx, l.key)
	var rec leaseRecord
	switch {
	case errors.Is(err, objstore.ErrNotFound):
	case err != nil:
		return err
	case json.Unmarshal(b, &rec) == nil && rec.Nonce == l.rec.Nonce:
		return nil
	}
	l.mu.Lock()
	l.lost = true
	l.mu.Unlock()
	if rec.Node != "" {
		return fmt.Errorf("%s now belongs to node %s", l.key, rec.Node)
	}
	return fmt.Errorf("%s is gone", l.key)
}

// held is valid, and for a shared key also owned: what VACUUM checks
// before each delete.
func (l *lease) held(ctx context.Context) error {
	if err := l.valid(); err != nil {
		return err
	}
	if !l.shared {
		return nil
	}
	if err := l.owned(ctx); err != nil {
		return fmt.Errorf("vsdb: %s lost its lease %s in %s: %v", l.what(), l.key, l.t.name, err)
	}
	return nil
}

func (l *lease) renew() {
	defer close(l.done)
	tick := time.NewTicker(l.t.ttl / 3)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.t.ttl/3)
			l.write(ctx) // a failed renewal shows in valid()
			cancel()
		}
	}
}

// valid fails once the lease may have expired: its last successful write
// is older than its lifetime less a margin for clock drift and the write
// about to happen.
//
// A renewal that comes after that point marks the lease lost for good.
func (l *lease) valid() error {
	l.mu.Lock()
	age, lost := time.Since(l.lastOK), l.lost
	l.mu.Unlock()
	if lost || age > l.t.ttl*3/4 {
		return fmt.Errorf("vsdb: %s lost its lease %s in %s (not renewed in time: the process was paused or the object store out of reach; lease=%s)", l.what(), l.key, l.t.name, l.t.ttl)
	}
	return nil
}

func (l *lease) what() string {
	if l.rec.Model == "" {
		return l.rec.Op
	}
	return fmt.Sprintf("%s of %q", l.rec.Op, l.rec.Model)
}

// release stops renewing and deletes the lease.
func (l *lease) release() {
	if l == nil || l.stop == nil {
		return
	}
	close(l.stop)
	<-l.done
	l.stop = nil
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if l.shared && l.owned(ctx) != nil {
		return // another holder's by now
	}
	l.t.bucket.Delete(ctx, l.key) // an undeleted lease only expires
}

// lockHolder reads VACUUM's lock; running is false when there is none or
// it has expired.
func (t *tier) lockHolder(ctx context.Context) (leaseRecord, bool, error) {
	var rec leaseRecord
	b, err := t.bucket.Get(ctx, objVacuum)
	if errors.Is(err, objstore.ErrNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, err
	}
	if json.Unmarshal(b, &rec) != nil {
		return rec, false, nil // a damaged lock is no lock
	}
	return rec, time.Now().Before(rec.Expires), nil
}

// liveLeases lists the unexpired leases, and the expired ones' keys.
func (t *tier) liveLeases(ctx context.Context) (live []leaseRecord, expired []string, err error) {
	var keys []string
	err = t.bucket.List(ctx, objLeases, func(i objstore.Info) error {
		keys = append(keys, i.Key)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, k := range keys {
		b, err := t.bucket.Get(ctx, k)
		if errors.Is(err, objstore.ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, nil, err
		}
		var rec leaseRecord
		if json.Unmarshal(b, &rec) != nil || time.Now().After(rec.Expires) {
			expired = append(expired, k)
			continue
		}
		live = append(live, rec)
	}
	return live, expired, nil
}
