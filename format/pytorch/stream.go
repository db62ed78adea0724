package pytorch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"

	"github.com/vsdb/vsdb/format/internal/ckpt"
)

// legacyProtocol is the legacy stream's protocol version.
const legacyProtocol = 1001

// loadStream reads a file that starts with a pickle: the legacy torch.save
// stream, or a plain pickle (which is unpickled, restricted, only to say
// what it is).
func loadStream(r io.ReaderAt, size int64, path string) (*loaded, error) {
	var pos int64
	next := func(what string, persistent func(any) (any, error)) (any, error) {
		u := newUnpickler(io.NewSectionReader(r, pos, size-pos), min(size-pos, MaxPickle), persistent)
		v, err := u.load()
		if err != nil {
			return nil, pickleErr(path, what, err)
		}
		pos += u.in.pos
		return v, nil
	}
	head := make([]byte, min(size, int64(len(legacyMagic))))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, ckpt.Wrap(err, path, "read")
	}
	if !bytes.Equal(head, legacyMagic) {
		u := newUnpickler(io.NewSectionReader(r, 0, size), min(size, MaxPickle), nil)
		v, err := u.load()
		var re *refusedError
		switch {
		case errors.As(err, &re):
			return nil, ckpt.Errorf(path, "%v", re)
		case err != nil && head[0] != opProto:
			// Protocol 0 and 1 have no header: this was only a guess.
			return nil, ckpt.Errorf(path, "not a PyTorch checkpoint (neither a zip archive nor a pickle)")
		case err != nil:
			return nil, pickleErr(path, "pickle", err)
		}
		return nil, ckpt.Errorf(path, "a plain pickle (of a %s), not a torch.save checkpoint: no tensors can be read from it", typeName(v))
	}
	magic, err := next("magic number pickle", nil)
	if err != nil {
		return nil, err
	}
	want, _ := new(big.Int).SetString("1950a86a20f9469cfc6c", 16)
	if l, ok := magic.(*pyLong); !ok || l.v.Cmp(want) != 0 {
		return nil, ckpt.Errorf(path, "bad magic number (not a torch.save file?)")
	}
	proto, err := next("protocol version pickle", nil)
	if err != nil {
		return nil, err
	}
	if proto != int64(legacyProtocol) {
		return nil, ckpt.Errorf(path, "legacy protocol version %v is not supported (%d is known)", proto, legacyProtocol)
	}
	sysInfo, err := next("sys_info pickle", nil)
	if err != nil {
		return nil, err
	}
	ld := &loaded{blobs: map[string]*blob{}, meta: map[string]string{"pytorch.format": "legacy"}}
	if d, ok := sysInfo.(*pyDict); ok {
		if le, ok := d.get("little_endian"); ok && le == false {
			ld.bigEndian = true
		}
	} else {
		return nil, ckpt.Errorf(path, "sys_info pickle is a %s, not a dict", typeName(sysInfo))
	}

	type root struct {
		numel, es int64
		name      string
	}
	roots := map[string]*root{}
	persistent := func(pid any) (any, error) {
		t, ok := pid.(pyTuple)
		if !ok || len(t) != 6 || asString(t[0]) != "storage" {
			if ok && len(t) > 0 && asString(t[0]) == "module" {
				return nil, fmt.Errorf("a pickled nn.Module container: save model.state_dict() instead")
			}
			return nil, fmt.Errorf("unsupported persistent id %s (('storage', type, key, location, numel, view) expected)", describePID(pid))
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
		if !ok || numel < 0 || numel > math.MaxInt64/stype.es {
			return nil, fmt.Errorf("persistent id: storage %q: numel must be a non-negative int", key)
		}
		if rt, ok := roots[key]; !ok {
			if len(roots) >= MaxTensors {
				return nil, fmt.Errorf("more than %d storages", MaxTensors)
			}
			roots[key] = &root{numel: numel, es: stype.es, name: stype.name}
		} else if rt.numel*rt.es != numel*stype.es {
			return nil, fmt.Errorf("storage %q is declared as %d bytes and as %d bytes", key, rt.numel*rt.es, numel*stype.es)
		}
		st := &pyStorage{key: key, dt: stype.dt, dtName: stype.name, numel: numel}
		if t[5] != nil {
			view, ok := t[5].(pyTuple)
			if !ok || len(view) != 3 {
				return nil, fmt.Errorf("storage %q: view metadata must be (key, offset, size)", key)
			}
			off, ok1 := view[1].(int64)
			n, ok2 := view[2].(int64)
			if !ok1 || !ok2 || off < 0 || n < 0 || off > math.MaxInt64/stype.es || n > numel-min(off, numel) {
				return nil, fmt.Errorf("storage %q: view (offset %v, size %v) does not fit in %d elements", key, view[1], view[2], numel)
			}
			st.elemOff, st.numel, st.view = off, n, true
		}
		return st, nil
	}
	root0, err := next("object pickle", persistent)
	if err != nil {
		return nil, err
	}
	keysObj, err := next("storage keys pickle", nil)
	if err != nil {
		return nil, err
	}
	var keys []any
	switch k := keysObj.(type) {
	case *pyList:
		keys = k.items
	case pyTuple:
		keys = k
	default:
		return nil, ckpt.Errorf(path, "storage keys pickle is a %s, not a list", typeName(keysObj))
	}
	var hdr [8]byte
	for _, kv := range keys {
		key, ok := storageKey(kv)
		if !ok {
			return nil, ckpt.Errorf(path, "storage keys pickle holds a %s", typeName(kv))
		}
		rt, ok := roots[key]
		if !ok {
			return nil, ckpt.Errorf(path, "storage %q is listed but no tensor uses it", key)
		}
		if _, dup := ld.blobs[key]; dup {
			return nil, ckpt.Errorf(path, "storage %q is listed twice", key)
		}
		if size-pos < 8 {
			return nil, ckpt.Errorf(path, "storage %q: the file ends at byte %d, before its header (truncated?)", key, size)
		}
		if _, err := r.ReadAt(hdr[:], pos); err != nil {
			return nil, ckpt.Wrap(err, path, "storage %q: read header", key)
		}
		n := binary.LittleEndian.Uint64(hdr[:])
		if ld.bigEndian {
			n = binary.BigEndian.Uint64(hdr[:])
		}
		if n != uint64(rt.numel) {
			return nil, ckpt.Errorf(path, "storage %q: the file holds %d elements but the pickle declares %d", key, n, rt.numel)
		}
		nbytes := rt.numel * rt.es
		if nbytes > size-pos-8 {
			return nil, ckpt.Errorf(path, "storage %q: %d bytes at offset %d run past the end of the file (%d bytes; truncated?)", key, nbytes, pos+8, size)
		}
		ld.blobs[key] = &blob{name: fmt.Sprintf("storage %q", key), off: pos + 8, size: nbytes, order: pos}
		pos += 8 + nbytes
	}
	ld.root = root0
	return ld, nil
}
