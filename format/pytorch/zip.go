package pytorch

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/vsdb/vsdb/format/internal/ckpt"
)

// loadZip reads the zip layout: PREFIX/data.pkl, PREFIX/byteorder and
// PREFIX/data/KEY.
func loadZip(r io.ReaderAt, size int64, path string) (*loaded, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // nothing is extracted
		return nil, ckpt.Errorf(path, "not a valid zip archive: %v (truncated or corrupt?)", err)
	}
	files := make(map[string]*zip.File, len(zr.File))
	dups := map[string]bool{}
	dataDirs := map[string]bool{} // prefixes P with records P + "data/..."
	for _, zf := range zr.File {
		if _, ok := files[zf.Name]; ok {
			dups[zf.Name] = true
		}
		files[zf.Name] = zf
		for i, n := 0, 0; n < 4; n++ {
			j := strings.Index(zf.Name[i:], "data/")
			if j < 0 {
				break
			}
			if at := i + j; at == 0 || zf.Name[at-1] == '/' {
				dataDirs[zf.Name[:at]] = true
			}
			i += j + 1
		}
	}
	var all, withData []string
	for name := range files {
		if name == "data.pkl" || strings.HasSuffix(name, "/data.pkl") {
			prefix := strings.TrimSuffix(name, "data.pkl")
			all = append(all, prefix)
			if dataDirs[prefix] {
				withData = append(withData, prefix)
			}
		}
	}
	slices.Sort(all)
	slices.Sort(withData)
	var prefix string
	switch {
	case len(withData) == 1:
		prefix = withData[0]
	case len(withData) > 1:
		return nil, ckpt.Errorf(path, "zip archive holds %d checkpoints (%s): not a single torch.save file", len(withData), listPrefixes(withData))
	case len(all) == 1:
		prefix = all[0] // no storages: a checkpoint without tensors, or not one
	case len(all) > 1:
		return nil, ckpt.Errorf(path, "zip archive holds %d data.pkl records (%s) and no data/ folder beside any", len(all), listPrefixes(all))
	default:
		for name := range files {
			if strings.HasSuffix(strings.ToLower(name), ".npy") {
				return nil, ckpt.Errorf(path, "a zip archive of .npy files (.npz), not a PyTorch checkpoint")
			}
		}
		return nil, ckpt.Errorf(path, "zip archive without a data.pkl record: not a PyTorch checkpoint")
	}
	if _, ok := files[prefix+"constants.pkl"]; ok || hasPrefix(files, prefix+"code/") {
		return nil, ckpt.Errorf(path, "a TorchScript archive (torch.jit.save) is not supported: load it with torch.jit.load and save model.state_dict() instead")
	}
	pkl := prefix + "data.pkl"
	if dups[pkl] {
		return nil, ckpt.Errorf(path, "zip archive lists %s twice", pkl)
	}
	ld := &loaded{blobs: map[string]*blob{}, meta: map[string]string{"pytorch.format": "zip"}}
	if zf, ok := files[prefix+"byteorder"]; ok {
		if zf.UncompressedSize64 > 16 {
			return nil, ckpt.Errorf(path, "%s is %d bytes (\"little\" or \"big\" expected)", zf.Name, zf.UncompressedSize64)
		}
		b, err := readSmall(zf)
		if err != nil {
			return nil, ckpt.Errorf(path, "read %s: %v", zf.Name, err)
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			ld.bigEndian = true
		default:
			return nil, ckpt.Errorf(path, "%s says %s (\"little\" or \"big\" expected)", zf.Name, trunc(string(b)))
		}
	}

	zf := files[pkl]
	pb, err := zipBlob(zf, size)
	if err != nil {
		return nil, ckpt.Errorf(path, "%v", err)
	}
	if pb.size > MaxPickle {
		return nil, ckpt.Errorf(path, "%s is %d bytes, more than the %d-byte limit of a pickle", pkl, pb.size, MaxPickle)
	}
	var src io.Reader
	if pb.zf == nil {
		src = io.NewSectionReader(r, pb.off, pb.size)
	} else {
		rc, err := zf.Open()
		if err != nil {
			return nil, ckpt.Errorf(path, "open %s: %v", pkl, err)
		}
		defer rc.Close()
		src = rc
	}
	persistent := func(pid any) (any, error) {
		t, ok := pid.(pyTuple)
		if !ok || len(t) != 5 || asString(t[0]) != "storage" {
			return nil, fmt.Errorf("unsupported persistent id %s (('storage', type, key, location, numel) expected)", describePID(pid))
		}
		stype, ok := t[1].(pyStorageType)
		if !ok {
			return nil, fmt.Errorf("persistent id: storage type is a %s", typeName(t[1]))
		}
		key, ok := storageKey(t[2])
		if !ok {
			return nil, fmt.Errorf("persistent id: storage key is a %s", typeName(t[2]))
		}
		numel, ok := t[4].(int64)
		if !ok || numel < 0 {
			return nil, fmt.Errorf("persistent id: storage %q: numel must be a non-negative int", key)
		}
		b, ok := ld.blobs[key]
		if !ok {
			name := prefix + "data/" + key
			zf, ok := files[name]
			if !ok {
				return nil, fmt.Errorf("storage %q: the archive has no record %s", key, name)
			}
			if dups[name] {
				return nil, fmt.Errorf("zip archive lists %s twice", name)
			}
			var err error
			if b, err = zipBlob(zf, size); err != nil {
				return nil, err
			}
			ld.blobs[key] = b
		}
		if numel > math.MaxInt64/stype.es || numel*stype.es > b.size {
			return nil, fmt.Errorf("storage %q: %d %s elements need more than the %d bytes of %s (truncated?)", key, numel, stype.name, b.size, b.name)
		}
		return &pyStorage{key: key, dt: stype.dt, dtName: stype.name, numel: numel}, nil
	}
	u := newUnpickler(src, pb.size, persistent)
	root, err := u.load()
	if err != nil {
		return nil, pickleErr(path, pkl, err)
	}
	ld.root = root
	return ld, nil
}

func hasPrefix(files map[string]*zip.File, p string) bool {
	for name := range files {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func listPrefixes(ps []string) string {
	out := make([]string, 0, min(len(ps), 4))
	for i, p := range ps {
		if i == 4 {
			out = append(out, fmt.Sprintf("and %d more", len(ps)-4))
			break
		}
		out = append(out, trunc(p+"data.pkl"))
	}
	return strings.Join(out, ", ")
}

// zipBlob locates a record's data and checks it against the file.
func zipBlob(zf *zip.File, size int64) (*blob, error) {
	if zf.UncompressedSize64 > math.MaxInt64 || zf.CompressedSize64 > math.MaxInt64 {
		return nil, fmt.Errorf("record %s: size out of range", zf.Name)
	}
	off, err := zf.DataOffset()
	if err != nil {
		return nil, fmt.Errorf("record %s: %v (truncated or corrupt zip?)", zf.Name, err)
	}
	csize := int64(zf.CompressedSize64)
	if off < 0 || off > size || csize > size-off {
		return nil, fmt.Errorf("record %s: %d bytes at offset %d run past the end of the file (%d bytes; truncated?)", zf.Name, csize, off, size)
	}
	b := &blob{name: zf.Name, off: off, size: int64(zf.UncompressedSize64), order: off}
	switch zf.Method {
	case zip.Store:
		if zf.CompressedSize64 != zf.UncompressedSize64 {
			return nil, fmt.Errorf("record %s is stored but its sizes differ (%d and %d)", zf.Name, zf.CompressedSize64, zf.UncompressedSize64)
		}
	case zip.Deflate:
		b.zf = zf
	default:
		return nil, fmt.Errorf("record %s uses compression method %d (only stored and deflated records are read)", zf.Name, zf.Method)
	}
	return b, nil
}

func readSmall(zf *zip.File) ([]byte, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 17))
}

// asString accepts str, or bytes from a Python 2 pickle.
func asString(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	}
	return ""
}

func storageKey(v any) (string, bool) {
	switch k := v.(type) {
	case string:
		return k, true
	case []byte:
		return string(k), true
	case int64:
		return fmt.Sprint(k), true
	}
	return "", false
}

func describePID(pid any) string {
	if t, ok := pid.(pyTuple); ok && len(t) > 0 {
		if s := asString(t[0]); s != "" {
			return fmt.Sprintf("(%s, ...) of %d items", trunc(s), len(t))
		}
	}
	return "of type " + typeName(pid)
}

// pickleErr turns an unpickler error into a vsdb error.
func pickleErr(path, what string, err error) error {
	var re *refusedError
	if errors.As(err, &re) {
		return ckpt.Errorf(path, "%v", re)
	}
	return ckpt.Errorf(path, "%s: %v", what, err)
}
