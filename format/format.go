// Package format opens neural-network checkpoints and presents each as a
// Source: a list of tensors (name, dtype, shape, byte size) in storage
// order, string metadata, and a streaming reader per tensor.
//
// Open detects the format by content first and file name second:
//
//   - a folder: model.safetensors.index.json, else its only
//     *.safetensors.index.json, else its only *.safetensors file;
//   - *.safetensors.index.json: a sharded safetensors checkpoint;
//   - safetensors (package format/safetensors), validated like the
//     reference implementation;
//   - .npy (magic \x93NUMPY, package format/npy) and .npz (a zip of .npy
//     members, stored or deflated, package format/npz);
//   - GGUF v2/v3 (magic "GGUF", package format/gguf): F32/F16/BF16 and the
//     integer types as stored, Q8_0/Q4_0 dequantised to F32;
//   - PyTorch (zip "PK\x03\x04", raw pickle "\x80", .pt/.pth/.bin/.ckpt)
//     is refused for now; nothing is ever unpickled;
//   - a Git LFS pointer is refused with a hint to run git lfs pull.
//
// Readers check every size and offset against the file's size before
// allocating, never panic on hostile input, and never hold a whole tensor
// file in memory. Every error is one line starting "vsdb: PATH: ", naming
// the tensor where one is involved.
//
// This package and its subpackages import only package tensor of vsdb.
package format

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vsdb/vsdb/format/gguf"
	"github.com/vsdb/vsdb/format/internal/ckpt"
	"github.com/vsdb/vsdb/format/npy"
	"github.com/vsdb/vsdb/format/npz"
	"github.com/vsdb/vsdb/format/safetensors"
)

// Entry describes one tensor: Size is its byte length, which always equals
// Shape.Bytes(DType). An empty (non-nil) Shape is a scalar.
type Entry = ckpt.Entry

// Source is an opened checkpoint.
//
//	Path() string                      // what was opened
//	Entries() []Entry                  // in storage order (a copy)
//	Metadata() map[string]string       // may be empty, never nil (a copy)
//	Open(i int) (io.ReadCloser, error) // streams exactly Entries()[i].Size bytes,
//	                                   // little-endian, row-major (C order);
//	                                   // read errors name the file and tensor
//	Close() error
//
// Readers from Open may be used concurrently with each other; they stop
// working once the Source is closed. Closing a reader does not close the
// Source.
type Source = ckpt.Source

var (
	_ Source = (*safetensors.File)(nil)
	_ Source = (*safetensors.Sharded)(nil)
	_ Source = (*npy.File)(nil)
	_ Source = (*npz.File)(nil)
	_ Source = (*gguf.File)(nil)
)

// Open opens the checkpoint at path (a file or a folder).
func Open(path string) (Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, ckpt.OSError(err, path, "cannot open")
	}
	if fi.IsDir() {
		src, err := openDir(path)
		if err != nil {
			return nil, err
		}
		return withConfig(src, path)
	}
	lower := strings.ToLower(filepath.Base(path))
	switch {
	case strings.HasSuffix(lower, ".safetensors.index.json"):
		return wrap(safetensors.OpenIndex(path))
	case strings.HasSuffix(lower, ".bin.index.json"), strings.HasSuffix(lower, ".pt.index.json"), strings.HasSuffix(lower, ".pth.index.json"):
		return nil, errPyTorch(path)
	}
	if !fi.Mode().IsRegular() {
		return nil, ckpt.Errorf(path, "not a regular file")
	}
	kind, err := sniff(path)
	if err != nil {
		return nil, err
	}
	switch kind {
	case ckpt.Empty:
		return nil, ckpt.Errorf(path, "empty file (0 bytes): unrecognised checkpoint format")
	case ckpt.LFSPointer:
		return nil, ckpt.LFSError(path)
	case ckpt.NPY:
		return wrap(npy.Open(path))
	case ckpt.Safetensors:
		return wrap(safetensors.Open(path))
	case ckpt.GGUF:
		return wrap(gguf.Open(path))
	case ckpt.Zip:
		if strings.HasSuffix(lower, ".npz") {
			return wrap(npz.Open(path))
		}
		return nil, errPyTorch(path)
	case ckpt.Pickle:
		return nil, errPyTorch(path)
	}
	// Nothing recognisable in the content: the extension picks the reader
	// that explains best what is wrong.
	switch filepath.Ext(lower) {
	case ".safetensors":
		return wrap(safetensors.Open(path))
	case ".npy":
		return wrap(npy.Open(path))
	case ".pt", ".pth", ".bin", ".ckpt", ".pkl":
		return nil, errPyTorch(path)
	case ".gguf":
		return wrap(gguf.Open(path))
	case ".npz":
		return wrap(npz.Open(path))
	}
	return nil, ckpt.Errorf(path, "unrecognised checkpoint format (not safetensors, .npy, PyTorch or GGUF)")
}

func errPyTorch(path string) error {
	return ckpt.Errorf(path, "PyTorch checkpoints are not supported yet; convert to safetensors")
}

// wrap turns a typed nil into a nil interface.
func wrap[S Source](s S, err error) (Source, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

func sniff(path string) (ckpt.Kind, error) {
	f, err := os.Open(path)
	if err != nil {
		return ckpt.Unknown, ckpt.OSError(err, path, "cannot open")
	}
	defer f.Close()
	head := make([]byte, ckpt.SniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return ckpt.Unknown, ckpt.OSError(err, path, "read")
	}
	fi, err := f.Stat()
	if err != nil {
		return ckpt.Unknown, ckpt.OSError(err, path, "cannot stat")
	}
	return ckpt.Sniff(head[:n], fi.Size()), nil
}

// openDir picks the checkpoint of a folder.
func openDir(dir string) (Source, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, ckpt.OSError(err, dir, "cannot list")
	}
	var shards, indexes, others []string
	for _, de := range des {
		name := de.Name()
		fi, err := os.Stat(filepath.Join(dir, name)) // follows symlinks
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		lower := strings.ToLower(name)
		switch {
		case strings.HasSuffix(lower, ".safetensors.index.json"):
			indexes = append(indexes, name)
		case strings.HasSuffix(lower, ".safetensors"):
			shards = append(shards, name)
		default:
			others = append(others, name)
		}
	}
	switch {
	case slices.Contains(indexes, "model.safetensors.index.json"):
		return wrap(safetensors.OpenIndex(filepath.Join(dir, "model.safetensors.index.json")))
	case len(indexes) == 1:
		return wrap(safetensors.OpenIndex(filepath.Join(dir, indexes[0])))
	case len(indexes) > 1:
		return nil, ckpt.Errorf(dir, "several safetensors indexes and no model.safetensors.index.json (%s): open one of them", list(indexes))
	case len(shards) == 1:
		return wrap(safetensors.Open(filepath.Join(dir, shards[0])))
	case len(shards) > 1:
		return nil, ckpt.Errorf(dir, "%d *.safetensors files and no model.safetensors.index.json (%s): open one file, or add an index", len(shards), list(shards))
	}
	if len(others) == 0 {
		return nil, ckpt.Errorf(dir, "no checkpoint found: the folder holds no files")
	}
	return nil, ckpt.Errorf(dir, "no safetensors checkpoint found (found: %s); open a file directly", list(others))
}

// list names up to 8 files.
func list(names []string) string {
	const most = 8
	if len(names) <= most {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:most], ", "), len(names)-most)
}
