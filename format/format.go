// Package format opens neural-network checkpoints and presents each as a
// Source: a list of tensors (name, dtype, shape, byte size) in storage
// order, string metadata, and a streaming reader per tensor.
//
// Open detects the format by content first and file name second:
//
//   - a folder: model.safetensors.index.json, else its only
//     *.safetensors.index.json, else its only *.safetensors file; with no
//     safetensors, pytorch_model.bin.index.json, else its only PyTorch
//     index, else its only .bin/.pt/.pth file;
//   - *.safetensors.index.json: a sharded safetensors checkpoint;
//   - safetensors (package format/safetensors), validated like the
//     reference implementation;
//   - .npy (magic \x93NUMPY, package format/npy) and .npz (a zip of .npy
//     members, stored or deflated, package format/npz);
//   - GGUF v2/v3 (magic "GGUF", package format/gguf): F32/F16/BF16 and the
//     integer types as stored, Q8_0/Q4_0 dequantised to F32;
//   - PyTorch torch.save files (package format/pytorch): the zip archive
//     whose first record is a data.pkl, the legacy pickle stream, and by
//     extension .pt/.pth/.bin/.ckpt/.pkl; their pickles are read by a
//     restricted machine that constructs only allow-listed globals and
//     never runs code from the file; *.bin.index.json (and .pt/.pth) is a
//     sharded PyTorch checkpoint;
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
	"github.com/vsdb/vsdb/format/pytorch"
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
	_ Source = (*pytorch.File)(nil)
	_ Source = (*pytorch.Sharded)(nil)
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
	case isPyTorchIndex(lower):
		return wrap(pytorch.OpenIndex(path))
	}
	if !fi.Mode().IsRegular() {
		return nil, ckpt.Errorf(path, "not a regular file")
	}
	kind, head, err := sniff(path)
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
		if pytorch.Sniff(head) {
			return wrap(pytorch.Open(path))
		}
		if strings.HasSuffix(lower, ".npz") || firstZipMember(head, ".npy") {
			return wrap(npz.Open(path))
		}
		return wrap(pytorch.Open(path))
	case ckpt.Pickle:
		return wrap(pytorch.Open(path))
	}
	// Nothing recognisable in the content: the extension picks the reader
	// that explains best what is wrong.
	switch filepath.Ext(lower) {
	case ".safetensors":
		return wrap(safetensors.Open(path))
	case ".npy":
		return wrap(npy.Open(path))
	case ".pt", ".pth", ".bin", ".ckpt", ".pkl":
		return wrap(pytorch.Open(path))
	case ".gguf":
		return wrap(gguf.Open(path))
	case ".npz":
		return wrap(npz.Open(path))
	}
	return nil, ckpt.Errorf(path, "unrecognised checkpoint format (not safetensors, .npy, PyTorch or GGUF)")
}

// isPyTorchIndex reports whether a lower-case file name is a PyTorch
// shard index (pytorch_model.bin.index.json and the like).
func isPyTorchIndex(lower string) bool {
	for _, ext := range []string{".bin", ".pt", ".pth"} {
		if strings.HasSuffix(lower, ext+".index.json") {
			return true
		}
	}
	return false
}

// isPyTorchFile reports whether a lower-case file name is a PyTorch
// weights file a model folder may hold.
func isPyTorchFile(lower string) bool {
	return strings.HasSuffix(lower, ".bin") || strings.HasSuffix(lower, ".pt") || strings.HasSuffix(lower, ".pth")
}

// firstZipMember reports whether the zip archive beginning with head has
// a first record whose name ends with suffix.
func firstZipMember(head []byte, suffix string) bool {
	if len(head) < 30 {
		return false
	}
	n := int(head[26]) | int(head[27])<<8
	if len(head) < 30+n {
		return false
	}
	return strings.HasSuffix(strings.ToLower(string(head[30:30+n])), suffix)
}

// wrap turns a typed nil into a nil interface.
func wrap[S Source](s S, err error) (Source, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// sniffLen is how many leading bytes sniff reads: enough for ckpt.Sniff
// and for the name of a zip archive's first record.
const sniffLen = 512

// sniff classifies the file at path and returns its leading bytes.
func sniff(path string) (ckpt.Kind, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return ckpt.Unknown, nil, ckpt.OSError(err, path, "cannot open")
	}
	defer f.Close()
	head := make([]byte, max(sniffLen, ckpt.SniffLen))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return ckpt.Unknown, nil, ckpt.OSError(err, path, "read")
	}
	fi, err := f.Stat()
	if err != nil {
		return ckpt.Unknown, nil, ckpt.OSError(err, path, "cannot stat")
	}
	return ckpt.Sniff(head[:min(n, ckpt.SniffLen)], fi.Size()), head[:n], nil
}

// openDir picks the checkpoint of a folder: safetensors first (what
// transformers prefers when a folder holds both), then PyTorch.
func openDir(dir string) (Source, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, ckpt.OSError(err, dir, "cannot list")
	}
	var shards, indexes, ptShards, ptIndexes, others []string
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
		case isPyTorchIndex(lower):
			ptIndexes = append(ptIndexes, name)
		case isPyTorchFile(lower):
			ptShards = append(ptShards, name)
		default:
			others = append(others, name)
		}
	}
	if src, err, ok := pickInDir(dir, "safetensors", "model.safetensors.index.json", indexes, shards,
		func(p string) (Source, error) { return wrap(safetensors.OpenIndex(p)) },
		func(p string) (Source, error) { return wrap(safetensors.Open(p)) }); ok {
		return src, err
	}
	if src, err, ok := pickInDir(dir, "PyTorch", "pytorch_model.bin.index.json", ptIndexes, ptShards,
		func(p string) (Source, error) { return wrap(pytorch.OpenIndex(p)) },
		Open); ok { // content first: a .bin may hold safetensors

		return src, err
	}
	if len(others) == 0 {
		return nil, ckpt.Errorf(dir, "no checkpoint found: the folder holds no files")
	}
	return nil, ckpt.Errorf(dir, "no safetensors or PyTorch checkpoint found (found: %s); open a file directly", list(others))
}

// pickInDir opens the folder's checkpoint of one format: the index named
// preferred, else the only index, else the only weights file. ok is false
// when the folder holds neither indexes nor files of the format.
func pickInDir(dir, kind, preferred string, indexes, files []string, openIndex, openFile func(string) (Source, error)) (_ Source, _ error, ok bool) {
	switch {
	case slices.Contains(indexes, preferred):
		src, err := openIndex(filepath.Join(dir, preferred))
		return src, err, true
	case len(indexes) == 1:
		src, err := openIndex(filepath.Join(dir, indexes[0]))
		return src, err, true
	case len(indexes) > 1:
		return nil, ckpt.Errorf(dir, "several %s indexes and no %s (%s): open one of them", kind, preferred, list(indexes)), true
	case len(files) == 1:
		src, err := openFile(filepath.Join(dir, files[0]))
		return src, err, true
	case len(files) > 1:
		return nil, ckpt.Errorf(dir, "%d %s weight files and no %s (%s): open one file, or add an index", len(files), kind, preferred, list(files)), true
	}
	return nil, nil, false
}

// list names up to 8 files.
func list(names []string) string {
	const most = 8
	if len(names) <= most {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:most], ", "), len(names)-most)
}
