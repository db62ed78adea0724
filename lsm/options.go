package lsm

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// ChunkBytes is the raw size of one stored chunk of a tensor.
	// Default 1 MiB. It bounds the memory a read or FUSE needs per input.
	ChunkBytes int64
	// MemTableBytes is Pebble's memtable size. Default 64 MiB (Pebble's own
	// default of 4 MiB turns any batch over 2 MiB into a forced flush).
	MemTableBytes uint64
	// CacheBytes is Pebble's block cache. Default 128 MiB.
	CacheBytes int64
	// MustExist refuses to create a store that does not exist yet.
	MustExist bool
	// Log receives Pebble's error messages. Default: discarded; info
	// messages (such as "Found 0 WALs") are always discarded.
	Log io.Writer
}

func (o Options) withDefaults() Options {
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = 1 << 20
	}
	if o.MemTableBytes == 0 {
		o.MemTableBytes = 64 << 20
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = 128 << 20
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// pebbleOptions builds the Pebble options vsdb runs with.
func (o Options) pebbleOptions() *pebble.Options {
	po := &pebble.Options{
		FormatMajorVersion: pebble.FormatNewest, // the zero value is the OLDEST format
		MemTableSize:       o.MemTableBytes,
		Merger:             readsMerger,
		Logger:             quietLogger{o.Log},
	}
	// Chunks are already encoded by vsdb's codecs: block compression would
	// spend time for nothing.
	for i := range po.Levels {
		po.Levels[i].Compression = func() *sstable.CompressionProfile { return sstable.NoCompression }
	}
	po.EnsureDefaults()
	return po
}

// quietLogger drops Pebble's informational messages.
type quietLogger struct{ w io.Writer }

func (quietLogger) Infof(string, ...interface{}) {}
func (l quietLogger) Errorf(format string, args ...interface{}) {
	fmt.Fprintf(l.w, "vsdb: pebble: "+format+"\n", args...)
}

// Fatalf is Pebble's report of a state it cannot continue from (on-disk
// corruption found by a checksum, a broken invariant). Pebble expects the
// process to stop; vsdb says so in one line and exits with status 70.
func (quietLogger) Fatalf(format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	fmt.Fprintf(os.Stderr, "vsdb: storage failure: %s (the store's files are damaged: restore them from a copy)\n", msg)
	os.Exit(70)
}
