package planner

import (
	"context"
	"fmt"
	"strings"

	"github.com/vsdb/vsdb/query"
)

// This file plans and runs the statements of the object-store tier:
// ATTACH, DETACH and VACUUM, and the tier's figures under STATS. Whether
// the store has an object store at all is the Storage's business: its
// methods refuse with an error naming --store s3://bucket/prefix.

// checkAttach refuses ATTACH MODEL of a model this node already has, at
// the model's position.
func checkAttach(p *Plan, cat Catalog) (bool, error) {
	s, ok := p.Stmt.(*query.Attach)
	if !ok || s.Model == "" {
		return false, nil
	}
	if _, exists, err := cat.Model(s.Model); err != nil {
		return false, err
	} else if exists {
		return false, query.ErrorAt(p.Src, s.ModelPos, "model %q is already on this node (DETACH MODEL %s first to attach it again)",
			s.Model, query.QuoteModel(s.Model))
	}
	return false, nil
}

// explainTier prints the plan of ATTACH, DETACH or VACUUM.
func explainTier(b *strings.Builder, n Node) {
	const write = "  write: one batch of records, names and bitmaps per model; chunks stay in the bucket until read\n"
	switch n := n.(type) {
	case *AttachNode:
		if n.Model == "" {
			fmt.Fprintf(b, "Attach all from=%s\n  list: the object store's manifests\n  read: the manifest of every model this node lacks\n%s", sourceText(n.From), write)
			return
		}
		fmt.Fprintf(b, "Attach model=%s from=%s\n  read: the model's manifest (and its base's, for a delta model whose base is missing)\n%s", n.Model, sourceText(n.From), write)
	case *DetachNode:
		fmt.Fprintf(b, "DetachModel model=%s\n  write: one batch (records, names, bitmaps); then release this node's hold in the object store, which keeps the model\n", n.Model)
	case *VacuumNode:
		b.WriteString("Vacuum\n  lock: the object store's vacuum lock; refused while an ingest or attach lease is live\n" +
			"  mark: every manifest and hold\n  sweep: list the chunk objects, delete those unmarked\n")
	}
}

// sourceText names the object store ATTACH reads from.
func sourceText(from string) string {
	if from == "" {
		return "(the store's object store)"
	}
	return fmt.Sprintf("%q", from)
}

// runAttach attaches and returns one row per model attached, in order (a
// delta model's base first).
func runAttach(ctx context.Context, n *AttachNode, st Storage) (*Result, error) {
	names, err := st.Attach(ctx, n.Model, n.From)
	if err != nil {
		return nil, err
	}
	r := table("model")
	for _, name := range names {
		r.add(name)
	}
	return r, nil
}

// runDetach forgets a model on this node.
func runDetach(ctx context.Context, n *DetachNode, st Storage) (*Result, error) {
	if err := st.Detach(ctx, n.Model); err != nil {
		return nil, err
	}
	r := table("detached")
	r.add(n.Model)
	return r, nil
}

// runVacuum sweeps the object store and reports what it found and removed.
func runVacuum(ctx context.Context, st Storage) (*Result, error) {
	rep, err := st.Vacuum(ctx)
	if err != nil {
		return nil, err
	}
	r := table("roots", "chunks", "deleted", "freed_bytes")
	r.add(rep.Roots, rep.Chunks, rep.Deleted, rep.FreedBytes)
	return r, nil
}

// tierModel is the model column of the rows STATS adds for the tier.
const tierModel = "(tier)"

// statsWithTier is STATS; for the whole store (no model named) of a store
// with an object store, the tier's figures follow the models' rows.
func statsWithTier(n *StatsNode, st Storage) (*Result, error) {
	r, err := stats(n, st)
	if err != nil || n.Model != "" {
		return r, err
	}
	ti, ok, err := st.Tier()
	if err != nil {
		return nil, err
	}
	if ok {
		tierRows(r, ti)
	}
	return r, nil
}

// tierRows appends the tier's figures to STATS's table, one row each, in
// its columns: model is "(tier)" and codec names the figure; the first row
// names the object store itself (codec is its URL). A count is in the
// tensors column, a byte figure in stored_bytes and the dedup ratio in
// ratio; the other cells are null.
func tierRows(r *Result, ti TierInfo) {
	r.add(tierModel, ti.URL, nil, nil, nil, nil, nil, nil)
	count := func(figure string, v int64) { r.add(tierModel, figure, v, nil, nil, nil, nil, nil) }
	size := func(figure string, v int64) { r.add(tierModel, figure, nil, nil, nil, v, nil, nil) }
	count("remote_models", int64(ti.RemoteModels))
	count("chunk_refs", ti.ChunkRefs)
	count("distinct_chunks", ti.DistinctChunks)
	size("logical_bytes", ti.LogicalBytes)
	size("unique_bytes", ti.UniqueBytes)
	r.add(tierModel, "dedup_ratio", nil, nil, nil, nil, ti.DedupRatio, nil)
	size("cache_bytes", ti.CacheBytes)
	size("cache_budget", ti.CacheBudget)
	count("cache_entries", int64(ti.CacheEntries))
	count("cache_hits", ti.CacheHits)
	count("cache_misses", ti.CacheMisses)
}
