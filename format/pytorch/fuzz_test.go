package pytorch

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vsdb/vsdb/internal/allocbound"
	"time"

	"github.com/vsdb/vsdb/format/internal/casedir"
	"github.com/vsdb/vsdb/tensor"
)

// FuzzPickle: no input panics or runs anything; errors are one line
// starting "vsdb: mem.pt: "; an accepted file's tensors stream exactly
// their sizes. Each input is also run through the bare unpickler (with a
// persistent_load that makes up storages), which must stop on its own.
func FuzzPickle(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.pt")
	seeds = append(seeds, casedir.Files("pt_*")...)
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	w := tspec{"w", "FloatStorage", "0", 12, 1, []int64{3, 2}, []int64{1, 4}}
	f.Add(ckptZip(f, stateDict(w), arange(12)))
	f.Add(stateDict(w))
	f.Add(newPk().global("os", "system").str("touch vsdb_pickle_executed").op(0x85, 'R', '.').Bytes())
	f.Add([]byte("(lp0\nI1\naS'a\\x00'\np1\na."))
	f.Fuzz(func(t *testing.T, data []byte) {
		if os.Getenv("PTSLOW") != "" {
			done := make(chan bool)
			defer close(done)
			go func() {
				select {
				case <-done:
				case <-time.After(3 * time.Second):
					buf := make([]byte, 1<<20)
					n := runtime.Stack(buf, true)
					panic("slow input:\n" + string(buf[:n]))
				}
			}()
		}
		var (
			pf  *File
			err error
		)
		// A small input may not cost more than a bounded multiple of its size.
		allocbound.Check(t, "parse", len(data), 1<<20+64*uint64(len(data)), func() { pf, err = parseBytes(data) })
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "vsdb: mem.pt: ") || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("bad error message %q", msg)
			}
		} else {
			for i, e := range pf.Entries() {
				if e.Size > 64<<20 {
					continue // a legitimately huge expanded view; not worth reading here
				}
				r, err := pf.Open(i)
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(r)
				if err != nil {
					if msg := err.Error(); !strings.HasPrefix(msg, "vsdb: mem.pt: ") || strings.ContainsAny(msg, "\r\n") {
						t.Fatalf("bad read error %q", msg)
					}
					continue
				}
				if int64(len(b)) != e.Size {
					t.Fatalf("tensor %q: read %d bytes, want %d", e.Name, len(b), e.Size)
				}
			}
		}
		u := newUnpickler(bytes.NewReader(data), int64(len(data)), func(pid any) (any, error) {
			return &pyStorage{key: "0", dt: tensor.F32, dtName: "FloatStorage", numel: 12}, nil
		})
		if v, err := u.load(); err == nil {
			walk(v, "mem", map[string]string{})
		}
	})
}
