// Package pytorch reads PyTorch checkpoints (torch.save files) without
// running pickle.
//
// Two layouts are read:
//
//   - the zip archive torch.save has written since PyTorch 1.6: a pickle
//     PREFIX/data.pkl (found by structure: the data.pkl whose sibling
//     folder PREFIX/data/ holds the storages, whatever PREFIX is), an
//     optional PREFIX/byteorder ("little" or "big"; big-endian data is
//     converted), and one record PREFIX/data/KEY per storage, stored or
//     deflated;
//   - the legacy stream (torch.save(..., _use_new_zipfile_serialization=
//     False), and every file before 1.6): five pickles (magic number,
//     protocol version, sys_info, the object, the storage keys) followed
//     by the raw storages.
//
// The pickle is run by a restricted virtual machine (pickle.go) that knows
// the opcodes of protocols 0 to 5 and resolves globals only from an
// allow-list (globals.go): collections.OrderedDict, the torch._utils
// tensor and parameter rebuild functions, torch.Size, torch.device, the
// torch.*Storage classes, torch.UntypedStorage, the torch dtypes and a few
// builtins. Any other global (os.system, builtins.eval, a model class...)
// is refused by name before anything else happens; nothing from the file
// is ever executed. The stack, memo, string lengths and total work are
// bounded.
//
// The unpickled object is walked for tensors: a state_dict (dict or
// OrderedDict of name to tensor), a single tensor (named after the file),
// or nested dicts, lists and tuples, whose keys are joined with ".". A
// top-level dict without tensors of its own is unwrapped through its
// "state_dict", "model_state_dict", "model" or "module" entry. Other
// values are skipped and listed in Metadata()["pytorch.skipped"].
//
// Tensors honour their storage offset, sizes and strides: a contiguous
// view streams straight from its storage; any other view (a transpose, an
// expanded stride-0 tensor) is materialised while streaming, reading the
// bytes it spans into memory; such a view is refused when it spans or
// produces more than MaxMaterialize bytes, or when it produces more than
// MaxRepeat times the bytes it spans (and more than 1 MiB).
package pytorch

import (
	"archive/zip"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/vsdb/vsdb/format/internal/ckpt"
	"github.com/vsdb/vsdb/tensor"
)

// Entry is format.Entry.
type Entry = ckpt.Entry

// Limits of views that are materialised (non-contiguous or expanded).
const (
	// MaxMaterialize bounds the bytes a non-contiguous view spans in its
	// storage (held in memory while it is read) and the bytes it produces.
	MaxMaterialize = 1 << 30
	// MaxRepeat bounds how many times over a view may repeat the storage
	// bytes it spans (an expanded, stride-0 view), for views producing
	// more than repeatFloor bytes.
	MaxRepeat   = 64
	repeatFloor = 1 << 20
	// MaxTensors bounds the number of tensors of one checkpoint.
	MaxTensors = 1 << 20
)

// legacyMagic is the first pickle of a legacy torch.save stream: PROTO 2,
// LONG1 of the magic number 0x1950a86a20f9469cfc6c.
var legacyMagic = []byte("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19")

// Sniff reports whether a file beginning with head looks like a
// torch.save file: the legacy stream's magic number, or a zip archive
// whose first record is a data.pkl (torch.save writes it first).
func Sniff(head []byte) bool {
	if bytes.HasPrefix(head, legacyMagic) {
		return true
	}
	if len(head) < 30 || !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		return false
	}
	n := int(head[26]) | int(head[27])<<8
	name := head[30:]
	if len(name) < n {
		// The name runs past head; a prefix that is still a plausible
		// torch archive path counts only if complete.
		return false
	}
	name = name[:n]
	return bytes.Equal(name, []byte("data.pkl")) || bytes.HasSuffix(name, []byte("/data.pkl"))
}

// blob is one storage's bytes in the file.
type blob struct {
	name  string // record name, for messages
	off   int64  // absolute offset of the (stored) data
	size  int64  // bytes
	zf    *zip.File
	order int64 // position in the file, for storage order
}

// plan says how to stream one tensor.
type plan struct {
	blob   *blob
	lo     int64 // first byte within the blob
	span   int64 // bytes from lo to one past the last byte touched
	contig bool
	shape  []int64
	stride []int64
	es     int64
}

// File is an opened PyTorch checkpoint. It implements format.Source. Its
// methods are safe for concurrent use, and readers from Open may be used
// concurrently with each other.
type File struct {
	path    string
	ra      io.ReaderAt
	closer  io.Closer
	swap    bool // storages are big-endian
	entries []Entry
	plans   []plan
	meta    map[string]string
	closed  atomic.Bool
}

// Open opens and validates the checkpoint at path. The caller must Close
// it.
func Open(path string) (*File, error) {
	return ckpt.OpenRegular(path, "a PyTorch checkpoint", func(f *os.File, size int64) (*File, error) {
		return parseFile(f, size, path)
	})
}

// openFile validates an already opened file, which the result then owns;
// it does not close f on error.
func openFile(f *os.File, path string) (*File, error) {
	size, err := ckpt.StatRegular(f, path, "a PyTorch checkpoint")
	if err != nil {
		return nil, err
	}
	return parseFile(f, size, path)
}

func parseFile(f *os.File, size int64, path string) (*File, error) {
	pf, err := Parse(f, size, path)
	if err != nil {
		return nil, err
	}
	pf.closer = f
	return pf, nil
}

// Parse validates a checkpoint held by r (size bytes long); path names it
// in errors (and names a lone tensor). Close on the result does not close
// r.
func Parse(r io.ReaderAt, size int64, path string) (*File, error) {
	head := make([]byte, min(size, 512))
	if _, err := r.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, ckpt.Wrap(err, path, "read")
	}
	var (
		ld  *loaded
		err error
	)
	switch {
	case size == 0:
		return nil, ckpt.Errorf(path, "empty file (0 bytes): not a PyTorch checkpoint")
	case ckpt.IsLFSPointer(head):
		return nil, ckpt.LFSError(path)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		ld, err = loadZip(r, size, path)
	case head[0] == opProto, pickle01(head[0]):
		ld, err = loadStream(r, size, path)
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return nil, ckpt.Errorf(path, "a tar-format PyTorch checkpoint (PyTorch 0.3 or older) is not supported; load and re-save it with a recent torch")
	default:
		return nil, ckpt.Errorf(path, "not a PyTorch checkpoint (neither a zip archive nor a pickle)")
	}
	if err != nil {
		return nil, err
	}
	f := &File{path: path, ra: r, swap: ld.bigEndian, meta: ld.meta}
	if err := f.build(ld); err != nil {
		return nil, err
	}
	return f, nil
}

// pickle01 reports whether a file starting with c may be a pickle of
// protocol 0 or 1 (which have no header): it starts with an opcode that can
// begin one.
func pickle01(c byte) bool {
	return strings.IndexByte("(cNIJKLMFSTUVX]})", c) >= 0
}

// loaded is what a layout reader hands to build.
type loaded struct {
	root      any
	blobs     map[string]*blob
	bigEndian bool
	meta      map[string]string
}

// tensorName is the base name without its extension ("x.pt" -> "x").
func tensorName(path string) string {
	base := filepath.Base(path)
	if name := strings.TrimSuffix(base, filepath.Ext(base)); name != "" {
		return name
	}
	return base
}

// build walks the object for tensors and plans how to read each.
func (f *File) build(ld *loaded) error {
	found, err := walk(ld.root, tensorName(f.path), f.meta)
	if err != nil {
		return ckpt.Wrap(err, f.path, "pickle")
	}
	if len(found) == 0 {
		return ckpt.Errorf(f.path, "no tensors in the checkpoint (it holds a %s%s)", typeName(ld.root), skippedNote(f.meta))
	}
	type item struct {
		e Entry
		p plan
		i int
	}
	items := make([]item, 0, len(found))
	for i, nt := range found {
		e, p, err := f.planTensor(nt.name, nt.t, ld.blobs)
		if err != nil {
			return err
		}
		items = append(items, item{e, p, i})
	}
	slices.SortStableFunc(items, func(a, b item) int {
		return cmp.Or(cmp.Compare(a.p.blob.order, b.p.blob.order), cmp.Compare(a.p.lo, b.p.lo), cmp.Compare(a.i, b.i))
	})
	for _, it := range items {
		f.entries = append(f.entries, it.e)
		f.plans = append(f.plans, it.p)
	}
	if f.swap {
		f.meta["pytorch.byteorder"] = "big (converted to little-endian)"
	}
	return nil
}

func skippedNote(meta map[string]string) string {
	if s := meta["pytorch.skipped"]; s != "" {
		return "; skipped " + s
	}
	return ""
}

// planTensor checks one tensor against its storage.
func (f *File) planTensor(name string, t *pyTensor, blobs map[string]*blob) (Entry, plan, error) {
	fail := func(format string, args ...any) (Entry, plan, error) {
		return Entry{}, plan{}, ckpt.Errorf(f.path, "tensor %q: %s", name, fmt.Sprintf(format, args...))
	}
	if !t.dt.Valid() {
		return fail("dtype %s is not supported (known: F32, F64, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U64, U32, U16, U8, BOOL)", t.dtName)
	}
	if t.flags != "" {
		return fail("has the %q bit set (a lazy view), which is not supported; save t.resolve_neg()/resolve_conj()", t.flags)
	}
	st := t.st
	b, ok := blobs[st.key]
	if !ok {
		return fail("storage %q has no data in the file", st.key)
	}
	if !st.dt.Valid() {
		return fail("storage type %s is not supported", st.dtName)
	}
	ses := int64(st.dt.Size())
	if st.numel > math.MaxInt64/ses || st.elemOff > math.MaxInt64/ses {
		return fail("storage %q: %d elements overflow", st.key, st.numel)
	}
	stBase, stBytes := st.elemOff*ses, st.numel*ses
	if stBase > b.size || stBytes > b.size-stBase {
		return fail("storage %q: %d bytes from byte %d do not fit in %s (%d bytes; truncated?)", st.key, stBytes, stBase, b.name, b.size)
	}
	shape := tensor.Shape(slices.Clone(t.size))
	n, err := shape.Elements()
	if err != nil {
		return fail("shape %s: %v", shape, strings.TrimPrefix(err.Error(), "vsdb: "))
	}
	es := int64(t.dt.Size())
	e := Entry{Name: name, DType: t.dt, Shape: shape, Size: n * es}
	p := plan{blob: b, lo: stBase, contig: true, shape: t.size, stride: t.stride, es: es}
	if n == 0 {
		return e, p, nil
	}
	// The last element touched, in elements of dt from the storage start.
	last := t.offset
	for k, d := range t.size {
		s := t.stride[k]
		if s != 0 && d-1 > (math.MaxInt64-last)/s {
			return fail("offset %d, size %v and stride %v overflow", t.offset, t.size, t.stride)
		}
		last += (d - 1) * s
	}
	if last >= stBytes/es {
		return fail("view (offset %d, size %v, stride %v) reaches element %d of a storage of %d %s elements (%d bytes)",
			t.offset, t.size, t.stride, last, stBytes/es, t.dt, stBytes)
	}
	p.lo = stBase + t.offset*es
	p.span = (last + 1 - t.offset) * es
	want := int64(1)
	for k := len(t.size) - 1; k >= 0; k-- {
		if t.size[k] != 1 && t.stride[k] != want {
			p.contig = false
		}
		want *= t.size[k]
	}
	if !p.contig {
		switch {
		case p.span > MaxMaterialize:
			return fail("non-contiguous view (size %v, stride %v) spans %d bytes of its storage; materialising more than %d is refused", t.size, t.stride, p.span, MaxMaterialize)
		case e.Size > MaxMaterialize:
			return fail("non-contiguous view (size %v, stride %v) is %d bytes; materialising more than %d is refused", t.size, t.stride, e.Size, MaxMaterialize)
		case e.Size > repeatFloor && e.Size/MaxRepeat > p.span:
			return fail("expanded view (size %v, stride %v) repeats %d bytes of storage into %d (more than %d times over); refused", t.size, t.stride, p.span, e.Size, MaxRepeat)
		}
	}
	return e, p, nil
}

// Path returns the path the file was opened with.
func (f *File) Path() string { return f.path }

// Entries returns the tensors in storage order (by storage record, then
// offset within it). The result is a copy.
func (f *File) Entries() []Entry {
	out := slices.Clone(f.entries)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

// Metadata returns notes about the checkpoint: "pytorch.format" ("zip"
// or "legacy"), "pytorch.unwrapped" (the wrapper keys followed to the
// state_dict), "pytorch.skipped" (non-tensor values left out) and
// "pytorch.byteorder" (when big-endian data is converted).
func (f *File) Metadata() map[string]string { return maps.Clone(f.meta) }

// Open streams tensor i: exactly Entries()[i].Size bytes, little-endian,
// row-major. Closing the reader does not close the file.
func (f *File) Open(i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(f.entries) {
		return nil, ckpt.Errorf(f.path, "no tensor number %d (the file has %d)", i, len(f.entries))
	}
	e := f.entries[i]
	if f.closed.Load() {
		return nil, ckpt.Errorf(f.path, "tensor %q: file is closed", e.Name)
	}
	p := &f.plans[i]
	if e.Size == 0 {
		return ckpt.NewTensorReader(f.ra, 0, 0, f.path, e.Name), nil
	}
	swap := f.swap && p.es > 1
	if p.contig {
		rc := f.section(p.blob, p.lo, e.Size, e.Name)
		if swap {
			return &swapReader{src: rc, es: p.es, left: e.Size}, nil
		}
		return rc, nil
	}
	return &gatherReader{f: f, p: p, name: e.Name, left: e.Size / p.es, swap: swap}, nil
}

// Close closes the file. Readers already returned by Open fail afterwards.
func (f *File) Close() error {
	if f.closed.Swap(true) || f.closer == nil {
		return nil
	}
	if err := f.closer.Close(); err != nil {
		return ckpt.OSError(err, f.path, "close")
	}
	return nil
}

var _ ckpt.Source = (*File)(nil)
