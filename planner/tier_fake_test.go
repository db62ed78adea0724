package planner

import (
	"context"
	"fmt"
	"sort"

	"github.com/vsdb/vsdb/tensor"
)

// memTier is the fake's object store: the models its bucket holds and
// what its methods report.
type memTier struct {
	info TierInfo
	// bucket maps each model the bucket holds to its base ("" for none).
	bucket map[string]string
	// attached holds the models attached here (Tier counts them).
	attached map[string]bool
	vacuum   VacuumReport
	// err, when set, is what every tier method returns.
	err error
}

// needTier returns the fake's object store, refusing as the engine does
// when there is none or when it is set to fail.
func (m *memStorage) needTier(what string) (*memTier, error) {
	if m.tier == nil {
		return nil, fmt.Errorf("vsdb: %s needs an object store; open the store with --store s3://bucket/prefix", what)
	}
	return m.tier, m.tier.err
}

func (m *memStorage) Attach(_ context.Context, model, from string) ([]string, error) {
	t, err := m.needTier("ATTACH")
	if err != nil {
		return nil, err
	}
	if from != "" && from != t.info.URL {
		return nil, fmt.Errorf("vsdb: this store's object store is %s, not %s (a store attaches from its own bucket)", t.info.URL, from)
	}
	names := []string{model}
	if model == "" {
		names = names[:0]
		for n := range t.bucket {
			if _, here := m.models[n]; !here {
				names = append(names, n)
			}
		}
		sort.Strings(names)
	}
	var done []string
	for _, n := range names {
		got, err := m.attachOne(t, n)
		done = append(done, got...)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// attachOne attaches a model of the bucket, its base first when missing.
func (m *memStorage) attachOne(t *memTier, name string) ([]string, error) {
	base, ok := t.bucket[name]
	if !ok {
		return nil, fmt.Errorf("vsdb: no model %q in %s", name, t.info.URL)
	}
	var done []string
	if _, here := m.models[base]; base != "" && !here {
		got, err := m.attachOne(t, base)
		if err != nil {
			return got, err
		}
		done = got
	}
	m.add(name, "w", tensor.F32, tensor.Shape{2}, []float32{1, 2})
	t.attached[name] = true
	return append(done, name), nil
}

func (m *memStorage) Detach(_ context.Context, model string) error {
	t, err := m.needTier("DETACH")
	if err != nil {
		return err
	}
	delete(t.attached, model)
	return m.DeleteModel(model)
}

func (m *memStorage) Vacuum(context.Context) (VacuumReport, error) {
	t, err := m.needTier("VACUUM")
	if err != nil {
		return VacuumReport{}, err
	}
	return t.vacuum, nil
}

func (m *memStorage) Tier() (TierInfo, bool, error) {
	if m.tier == nil {
		return TierInfo{}, false, nil
	}
	info := m.tier.info
	info.RemoteModels = len(m.tier.attached)
	return info, true, m.tier.err
}

// tierFixture is a store with one local model (bert) whose object store
// holds bert, gpt, llama and llama-ft (stored as deltas against llama).
func tierFixture() *memStorage {
	m := newMem()
	m.add("bert", "encoder.layer.0.w", tensor.F32, tensor.Shape{4}, []float32{1, 2, 3, 4})
	m.tier = &memTier{
		info: TierInfo{URL: "s3://models/zoo", ChunkRefs: 40, DistinctChunks: 25,
			LogicalBytes: 40 << 20, UniqueBytes: 25 << 20, DedupRatio: 1.6,
			CacheBytes: 3 << 20, CacheBudget: 1 << 30, CacheEntries: 3, CacheHits: 12, CacheMisses: 3},
		bucket:   map[string]string{"bert": "", "gpt": "", "llama": "", "llama-ft": "llama"},
		attached: map[string]bool{},
		vacuum:   VacuumReport{Roots: 5, Chunks: 31, Deleted: 6, FreedBytes: 6 << 20},
	}
	return m
}
