package safetensors

import (
	"bytes"
	"io"
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/internal/allocbound"

	"github.com/vsdb/vsdb/format/internal/casedir"
)

// FuzzSafetensors: no input panics; errors are one line starting "vsdb: ";
// an accepted file's tensors tile its data section and stream exactly
// their sizes; writing what was read and reading it again gives the same
// entries, bytes and metadata.
func FuzzSafetensors(f *testing.F) {
	for _, p := range append(casedir.Files("*.safetensors"), casedir.Files("sharded_*/*.safetensors")...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(stFile(`{"__metadata__":{"a":"b"},`+a2+`}`, f32s(1, 2)))
	f.Add(stFile(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[0,3],"data_offsets":[4,4]}}`, f32s(1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		var (
			st  *File
			err error
		)
		// A small input may not cost more than a bounded multiple of its size.
		allocbound.Check(t, "parse", len(data), 1<<20+64*uint64(len(data)), func() { st, err = parseBytes(data) })
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "vsdb: mem.safetensors: ") || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("bad error message %q", msg)
			}
			return
		}
		var total int64
		var blobs [][]byte
		for i, e := range st.Entries() {
			r, err := st.Open(i)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(r)
			if err != nil || int64(len(b)) != e.Size {
				t.Fatalf("tensor %q: read %d bytes (%v), want %d", e.Name, len(b), err, e.Size)
			}
			total += e.Size
			blobs = append(blobs, b)
		}
		if total != int64(len(data))-st.dataOff {
			t.Fatalf("tensors cover %d bytes of a %d-byte data section", total, int64(len(data))-st.dataOff)
		}
		var out bytes.Buffer
		if err := Write(&out, st.Entries(), st.Metadata(), st.Open); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		again, err := parseBytes(out.Bytes())
		if err != nil {
			t.Fatalf("reading the rewrite: %v", err)
		}
		if !maps.Equal(again.Metadata(), st.Metadata()) || len(again.Entries()) != len(st.Entries()) {
			t.Fatal("rewrite changed metadata or entry count")
		}
		for i, e := range again.Entries() {
			w := st.Entries()[i]
			if e.Name != w.Name || e.DType != w.DType || !e.Shape.Equal(w.Shape) || e.Size != w.Size {
				t.Fatalf("rewrite changed entry %d: %+v, want %+v", i, e, w)
			}
			r, _ := again.Open(i)
			if b, _ := io.ReadAll(r); !bytes.Equal(b, blobs[i]) {
				t.Fatalf("rewrite changed the bytes of %q", e.Name)
			}
		}
	})
}
