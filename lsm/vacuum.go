package lsm

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vsdb/vsdb/objstore"
)

// VacuumReport says what VACUUM found and removed.
type VacuumReport struct {
	// Roots counts the manifests and holds read; Chunks the chunk objects
	// listed; Deleted those no root references, now removed; FreedBytes
	// their size. Leases counts expired leases removed; Holds this node's
	// holds of models it no longer has, released.
	Roots, Chunks, Deleted, Leases, Holds int
	FreedBytes                            int64
}

// Vacuum removes the chunk objects no manifest or hold references: those
// of ingests killed before their manifest, and of models deleted by every
// node that held them. It is mark and sweep under a lock:
//
//  1. write the lock locks/vacuum (refused if another node's is live);
//  2. list the leases: if any is live, an ingest or attach is running,
//     whose chunks no manifest names yet; remove the lock and refuse;
//  3. release this node's holds of models it does not have (left by a
//     crash between publishing a hold and committing locally);
//  4. mark: read every manifest and hold, collecting the chunks they name;
//  5. sweep: list the chunks and delete the unmarked ones;
//  6. remove expired leases and the lock.
//
// An ingest that starts meanwhile writes its lease, sees the lock, removes
// its lease and waits; see lease.go for why one side always sees the other.
func (s *Store) Vacuum(ctx context.Context) (VacuumReport, error) {
	var rep VacuumReport
	t, err := s.needTier("VACUUM")
	if err != nil {
		return rep, err
	}
	lock, err := t.lockVacuum(ctx)
	if err != nil {
		return rep, err
	}
	defer lock.release()
	live, expired, err := t.liveLeases(ctx)
	if err != nil {
		return rep, t.remoteErr("VACUUM: listing leases", err)
	}
	if len(live) > 0 {
		l := live[0]
		return rep, fmt.Errorf("vsdb: VACUUM waits for %s of %q on node %s (its lease runs until %s); try again when it ends", l.Op, l.Model, l.Node, l.Expires.Format(time.RFC3339))
	}
	if rep.Holds, err = s.releaseOrphanHolds(ctx); err != nil {
		return rep, err
	}
	marked, roots, err := t.mark(ctx)
	if err != nil {
		return rep, err
	}
	pauseBeforeSweep(lock)
	rep.Roots = roots
	var garbage []objstore.Info
	err = t.bucket.List(ctx, objChunks, func(i objstore.Info) error {
		rep.Chunks++
		name := i.Key[strings.LastIndexByte(i.Key, '/')+1:]
		if !marked[name] {
			garbage = append(garbage, i)
		}
		return nil
	})
	if err != nil {
		return rep, t.remoteErr("VACUUM: listing chunks", err)
	}
	for _, g := range garbage {
		// A VACUUM paused past its lock's lifetime may be racing an
		// ingest that found these chunks and is about to publish them.
		if err := lock.held(ctx); err != nil {
			return rep, fmt.Errorf("%v; VACUUM stopped after deleting %d of %d unreferenced chunk objects", err, rep.Deleted, len(garbage))
		}
		if err := t.bucket.Delete(ctx, g.Key); err != nil {
			return rep, t.remoteErr("VACUUM: deleting "+g.Key, err)
		}
		rep.Deleted++
		rep.FreedBytes += g.Size
	}
	for _, k := range expired {
		if t.bucket.Delete(ctx, k) == nil {
			rep.Leases++
		}
	}
	return rep, nil
}

// pauseBeforeSweep lets tests pause VACUUM between mark and sweep.
var pauseBeforeSweep = func(*lease) {}

// lockVacuum writes VACUUM's lock, a lease renewed until release.
func (t *tier) lockVacuum(ctx context.Context) (*lease, error) {
	if holder, running, err := t.lockHolder(ctx); err != nil {
		return nil, t.remoteErr("VACUUM: reading its lock", err)
	} else if running && holder.Node != t.node {
		return nil, fmt.Errorf("vsdb: VACUUM is already running on node %s (its lock runs until %s)", holder.Node, holder.Expires.Format(time.RFC3339))
	}
	l := &lease{t: t, key: objVacuum, rec: leaseRecord{Node: t.node, Op: "VACUUM", Nonce: nonce()}, shared: true}
	if err := l.write(ctx); err != nil {
		return nil, t.remoteErr("VACUUM: writing its lock", err)
	}
	// Two VACUUMs that started together both saw no lock and wrote one;
	// the one whose write was overwritten backs off.
	if err := l.owned(ctx); err != nil {
		return nil, fmt.Errorf("vsdb: VACUUM is already running: %v", err)
	}
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.renew()
	return l, nil
}

// isRoot tells the manifests and holds vsdb writes (models/NAME,
// holds/NODE/NAME, NAME escaped) from foreign keys under those prefixes,
// which keep nothing and would otherwise stop VACUUM for good.
func isRoot(key string) bool {
	rest, ok := strings.CutPrefix(key, objHolds)
	if ok {
		node, name, found := strings.Cut(rest, "/")
		if !found || node == "" {
			return false
		}
		rest = name
	} else if rest, ok = strings.CutPrefix(key, objModels); !ok {
		return false
	}
	name, err := url.PathUnescape(rest)
	return err == nil && name != "" && url.PathEscape(name) == rest
}

// mark reads every manifest and hold and returns the chunks they name. A
// root that cannot be read stops VACUUM: sweeping without it could delete
// chunks it names.
func (t *tier) mark(ctx context.Context) (map[string]bool, int, error) {
	var keys []string
	for _, p := range []string{objModels, objHolds} {
		err := t.bucket.List(ctx, p, func(i objstore.Info) error {
			if isRoot(i.Key) {
				keys = append(keys, i.Key)
			}
			return nil
		})
		if err != nil {
			return nil, 0, t.remoteErr("VACUUM: listing "+p, err)
		}
	}
	marked := map[string]bool{}
	roots := 0
	for _, k := range keys {
		mf, err := t.readManifest(ctx, k)
		if errors.Is(err, objstore.ErrNotFound) {
			continue // deleted meanwhile: its chunks are no longer kept by it
		}
		if err != nil {
			return nil, 0, fmt.Errorf("vsdb: VACUUM stopped before deleting anything: %v", strings.TrimPrefix(err.Error(), "vsdb: "))
		}
		roots++
		mf.chunks(func(h string) { marked[h] = true })
	}
	return marked, roots, nil
}

// releaseOrphanHolds deletes this node's holds of models it does not hold
// locally: an ingest or attach killed after publishing its hold but before
// its local commit leaves one, which would keep its chunks forever. Only
// this node can tell (another node's hold is that node's business), and
// no load of its own is running (VACUUM saw no live lease).
func (s *Store) releaseOrphanHolds(ctx context.Context) (int, error) {
	t := s.tier
	mine := objHolds + t.node + "/"
	var names []string
	err := t.bucket.List(ctx, mine, func(i objstore.Info) error {
		if n, err := url.PathUnescape(strings.TrimPrefix(i.Key, mine)); err == nil {
			names = append(names, n)
		}
		return nil
	})
	if err != nil {
		return 0, t.remoteErr("VACUUM: listing this node's holds", err)
	}
	released := 0
	for _, n := range names {
		m, ok, err := s.model(n)
		if err != nil {
			return released, err
		}
		if ok && m.Remote {
			continue
		}
		if err := t.bucket.Delete(ctx, t.holdObject(n)); err != nil {
			return released, t.remoteErr("VACUUM: releasing the orphan hold of "+fmt.Sprintf("%q", n), err)
		}
		released++
	}
	return released, nil
}
