package engine

import (
	"context"
	"fmt"

	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/planner"
)

// TierInfo describes the object-store tier of a store, as this node sees
// it (everything in it is local: no request reaches the bucket).
type TierInfo = planner.TierInfo

// VacuumReport says what VACUUM found and removed.
type VacuumReport = planner.VacuumReport

// Attach builds the local catalog of model from its manifest in the
// object store ("" attaches every model the bucket holds that this node
// lacks). from, when given, must name the store's bucket and prefix. It
// returns the names attached.
func (db *DB) Attach(ctx context.Context, model, from string) ([]string, error) {
	if err := db.checkFrom(from); err != nil {
		return nil, err
	}
	return db.store.Attach(ctx, model)
}

// Detach forgets a model attached from (or ingested into) the object
// store on this node only; the bucket keeps it.
func (db *DB) Detach(ctx context.Context, model string) error {
	return db.store.Detach(ctx, model)
}

// Vacuum removes chunk objects that no manifest or hold references.
func (db *DB) Vacuum(ctx context.Context) (VacuumReport, error) {
	r, err := db.store.Vacuum(ctx)
	return VacuumReport{Roots: r.Roots, Chunks: r.Chunks, Deleted: r.Deleted, FreedBytes: r.FreedBytes}, err
}

// Tier describes the store's object-store tier; ok is false for a store
// that keeps its chunks locally.
func (db *DB) Tier() (TierInfo, bool, error) {
	url := db.store.TierURL()
	if url == "" {
		return TierInfo{}, false, nil
	}
	st, err := db.store.TierStats()
	if err != nil {
		return TierInfo{}, true, err
	}
	return TierInfo{URL: url, RemoteModels: st.RemoteModels, ChunkRefs: st.ChunkRefs, DistinctChunks: st.DistinctChunks,
		LogicalBytes: st.LogicalBytes, UniqueBytes: st.UniqueBytes, DedupRatio: st.DedupRatio,
		CacheBytes: st.Bytes, CacheBudget: st.Budget, CacheEntries: st.Entries,
		CacheHits: st.Hits, CacheMisses: st.Misses}, true, nil
}

func (db *DB) checkFrom(from string) error {
	if from == "" {
		return nil
	}
	url := db.store.TierURL()
	if url == "" {
		return fmt.Errorf("vsdb: this store has no object store to attach from; open it with --store %s", from)
	}
	if !lsm.SameTier(url, from) {
		return fmt.Errorf("vsdb: this store's object store is %s, not %s (a store attaches from its own bucket)", lsm.TierName(url), from)
	}
	return nil
}
