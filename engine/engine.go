// Package engine is vsdb's embedded Go API: open a store, ingest
// checkpoints, run statements, read tensors, export models, close.
//
//	db, err := engine.Open(dir, engine.Options{})
//	defer db.Close()
//	_, err = db.Ingest(ctx, "model.safetensors", engine.IngestOptions{Name: "m"})
//	res, err := db.Query(ctx, "FUSE m:encoder.layer.0, m:encoder.layer.1 WEIGHTS 0.5, 0.5")
//	err = db.Export(ctx, "m", "out.safetensors")
//
// A DB is safe for concurrent use: statements read from consistent
// snapshots; writes (ingest, FUSE ... INTO, delete) take turns.
package engine

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/vsdb/vsdb/lsm"
)

// Options configure a DB. The zero value is usable.
type Options struct {
	// ChunkBytes is the raw size of one stored chunk. Default 1 MiB.
	ChunkBytes int64
	// Codec is the default codec for ingest: "raw" or "lossless".
	// Default "lossless".
	Codec string
	// Workers is how many goroutines encode chunks. Default GOMAXPROCS.
	Workers int
	// CacheBytes bounds the cache of decoded chunks of hot tensors.
	// Default 256 MiB; negative disables it.
	CacheBytes int64
	// MustExist refuses to create a store that does not exist yet.
	MustExist bool
	// Storage tunes Pebble; see lsm.Options.
	Storage lsm.Options
	// Store, when set, keeps chunks in an S3-compatible object store
	// (s3://bucket/prefix?endpoint=...; see lsm.TierOptions and
	// docs/SCALE.md). The store remembers it for later opens.
	Store string
	// Logger receives structured logs: every statement (Info, with its
	// time and row count), opening the store (Debug) and Pebble's errors
	// (Warn). Default: none.
	Logger *slog.Logger
}

// DB is an open vsdb store.
type DB struct {
	store *lsm.Store
	opts  Options
	cache *chunkCache
}

// DefaultDir is the store used when none is given: $VSDB_DB if set, else
// $XDG_DATA_HOME/vsdb, else ~/.local/share/vsdb.
func DefaultDir() string {
	if d := os.Getenv("VSDB_DB"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "vsdb")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ".vsdb"
	}
	return filepath.Join(home, ".local", "share", "vsdb")
}

// Open opens or creates the store in dir.
func Open(dir string, o Options) (*DB, error) {
	if o.Codec == "" {
		o.Codec = "lossless"
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.ChunkBytes > 0 {
		o.Storage.ChunkBytes = o.ChunkBytes
	}
	o.Storage.MustExist = o.Storage.MustExist || o.MustExist
	if o.Store != "" && o.Storage.Tier == nil {
		o.Storage.Tier = &lsm.TierOptions{URL: o.Store}
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = 256 << 20
	}
	if o.Logger != nil && o.Storage.Log == nil {
		o.Storage.Log = &slogWriter{log: o.Logger}
	}
	start := time.Now()
	s, err := lsm.Open(dir, o.Storage)
	if err != nil {
		return nil, err
	}
	db := &DB{store: s, opts: o, cache: newChunkCache(max(0, o.CacheBytes))}
	if err := db.refreshAccess(accessIndexMaxAge); err != nil {
		s.Close()
		return nil, err
	}
	db.logger().Debug("store opened", slog.String("dir", dir), slog.Duration("took", time.Since(start)), slog.String("codec", o.Codec))
	return db, nil
}

// accessIndexMaxAge is how stale the access-frequency bitmaps may be when a
// store opens or a statement asks for tiers or read counts.
const accessIndexMaxAge = time.Minute

// refreshAccess rebuilds the tier and read-count bitmaps if they are older
// than maxAge, and hands the hot set to the cache.
func (db *DB) refreshAccess(maxAge time.Duration) error {
	r := db.store.Reader()
	age, err := r.AccessIndexAge()
	r.Close()
	if err != nil {
		return err
	}
	if age > maxAge {
		if err := db.store.RefreshAccessIndex(); err != nil {
			return err
		}
	}
	r = db.store.Reader()
	defer r.Close()
	hot, err := r.Bitmap("tier", "hot")
	if err != nil {
		return err
	}
	db.cache.setHot(hot)
	return nil
}

// RefreshAccess recomputes the access-frequency tiers and read-count
// bitmaps now.
func (db *DB) RefreshAccess() error { return db.refreshAccess(-1) }

// Close closes the store.
func (db *DB) Close() error { return db.store.Close() }

// Dir is the store's folder.
func (db *DB) Dir() string { return db.store.Dir() }
