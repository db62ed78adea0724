package engine

import (
	"context"
	"io"

	"github.com/vsdb/vsdb/format"
)

// storeSource presents a stored model as a checkpoint, so COMPRESS can feed
// it through the ingest path. It reads from one snapshot.
type storeSource struct {
	snap    *snapshot
	model   string
	entries []format.Entry
	meta    map[string]string
	open    func(int) (io.ReadCloser, error)
}

func (db *DB) storeSource(ctx context.Context, model string) (*storeSource, error) {
	s := db.snapshotCtx(ctx)
	entries, meta, open, err := s.exportSource(ctx, model)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &storeSource{snap: s, model: model, entries: entries, meta: meta, open: open}, nil
}

func (s *storeSource) Path() string                      { return s.model }
func (s *storeSource) Entries() []format.Entry           { return append([]format.Entry(nil), s.entries...) }
func (s *storeSource) Metadata() map[string]string       { return s.meta }
func (s *storeSource) Open(i int) (io.ReadCloser, error) { return s.open(i) }
func (s *storeSource) Close() error                      { return s.snap.Close() }
