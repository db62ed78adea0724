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
	"os"
	"path/filepath"
	"runtime"

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
	// MustExist refuses to create a store that does not exist yet.
	MustExist bool
	// Storage tunes Pebble; see lsm.Options.
	Storage lsm.Options
}

// DB is an open vsdb store.
type DB struct {
	store *lsm.Store
	opts  Options
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
	s, err := lsm.Open(dir, o.Storage)
	if err != nil {
		return nil, err
	}
	return &DB{store: s, opts: o}, nil
}

// Close closes the store.
func (db *DB) Close() error { return db.store.Close() }

// Dir is the store's folder.
func (db *DB) Dir() string { return db.store.Dir() }
