package lsm

// TierStats describes the object-store tier as this node sees it, from its
// local catalog only (no request reaches the bucket).
type TierStats struct {
	// RemoteModels counts models whose chunks live in the bucket;
	// ChunkRefs their chunk references; DistinctChunks the distinct chunk
	// objects named. LogicalBytes sums the models' stored bytes,
	// UniqueBytes counts each distinct chunk once (a chunk's size is taken
	// as its tensor's stored bytes over its chunk count: exact when
	// identical chunks come from identical tensors, as in fine-tunes that
	// left a tensor unchanged, an estimate otherwise).
	RemoteModels              int
	ChunkRefs, DistinctChunks int64
	LogicalBytes, UniqueBytes int64
	// DedupRatio is LogicalBytes / UniqueBytes (1 without sharing): how
	// many times over the models' bytes would be stored without dedup.
	DedupRatio float64
	CacheStats
}

// TierStats sums the tier's figures over the local catalog.
func (s *Store) TierStats() (TierStats, error) {
	var st TierStats
	if s.tier == nil {
		return st, nil
	}
	st.CacheStats = s.tier.cache.stats()
	r := s.Reader()
	defer r.Close()
	models, err := r.Models()
	if err != nil {
		return st, err
	}
	seen := map[string]bool{}
	for _, m := range models {
		if !m.Remote {
			continue
		}
		st.RemoteModels++
		ts, err := r.Tensors(m)
		if err != nil {
			return st, err
		}
		for i := range ts {
			t := &ts[i]
			st.LogicalBytes += t.Stored
			n := int64(len(t.Hashes))
			for i, h := range t.Hashes {
				st.ChunkRefs++
				if !seen[h] {
					seen[h] = true
					st.UniqueBytes += t.Stored / n
					if int64(i) < t.Stored%n {
						st.UniqueBytes++
					}
				}
			}
		}
	}
	st.DistinctChunks = int64(len(seen))
	st.DedupRatio = 1
	if st.UniqueBytes > 0 {
		st.DedupRatio = float64(st.LogicalBytes) / float64(st.UniqueBytes)
	}
	return st, nil
}
