package lsm

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
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
	// FS is the filesystem Pebble and the ingest scratch files go
	// through. Default vfs.Default (the operating system's). Tests wrap
	// it to inject I/O errors (pebble/vfs/errorfs).
	FS vfs.FS
	// Tier, when set, keeps chunks in an S3-compatible object store shared
	// by several nodes (see TierOptions). A store remembers its tier: later
	// opens without Tier use the remembered one.
	Tier *TierOptions
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
	if o.FS == nil {
		o.FS = vfs.Default
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
		FS:                 o.FS,
		// Pebble's default ends the process on a checksum mismatch in a
		// file; vsdb lets the read that met it fail instead (naming the
		// model and tensor), so that a server or an embedding program
		// goes on serving everything else. The command line turns such an
		// error into exit status 70 (IsCorruption).
		EventListener: &pebble.EventListener{DataCorruption: func(info pebble.DataCorruptionInfo) {
			fmt.Fprintf(o.Log, "vsdb: pebble: on-disk corruption: %s\n", info)
		}},
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
// corruption found by a checksum, a broken invariant, a write to its log
// that failed). Pebble expects the process to stop; vsdb says so in one
// line, with what to do, and exits with status 70.
func (quietLogger) Fatalf(format string, args ...interface{}) {
	fmt.Fprintln(os.Stderr, fatalMessage(fmt.Sprintf(format, args...)))
	os.Exit(70)
}

// fatalMessage is the one line printed for a fatal Pebble error: a full
// disk and an I/O error leave the store as it was at its last commit, so
// they say so instead of calling the files damaged.
func fatalMessage(msg string) string {
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	var hint string
	switch {
	case strings.Contains(msg, syscall.ENOSPC.Error()), strings.Contains(msg, syscall.EDQUOT.Error()):
		hint = "the disk is full: free space and run the command again; what was committed before is kept"
	case strings.Contains(msg, syscall.EIO.Error()):
		hint = "the disk reported an I/O error: check it, then run the command again; what was committed before is kept"
	default:
		hint = "the store's files are damaged: restore them from a copy"
	}
	return fmt.Sprintf("vsdb: storage failure: %s (%s)", msg, hint)
}

// IsCorruption reports whether err comes from damaged store files (a
// checksum mismatch Pebble found in one of its own files).
func IsCorruption(err error) bool { return pebble.IsCorruptionError(err) }
