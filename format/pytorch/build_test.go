package pytorch

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// pk assembles pickles for tests.
type pk struct{ bytes.Buffer }

func newPk() *pk {
	p := &pk{}
	p.WriteString("\x80\x02")
	return p
}

func (p *pk) op(ops ...byte) *pk { p.Write(ops); return p }

func (p *pk) str(s string) *pk {
	p.WriteByte('X')
	binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
	return p
}

func (p *pk) int(n int64) *pk {
	if n >= 0 && n < 256 {
		return p.op('K', byte(n))
	}
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		p.WriteByte('J')
		binary.Write(p, binary.LittleEndian, int32(n))
		return p
	}
	p.op(0x8a, 8)
	binary.Write(p, binary.LittleEndian, n)
	return p
}

func (p *pk) global(mod, name string) *pk {
	p.WriteString("c" + mod + "\n" + name + "\n")
	return p
}

func (p *pk) ints(v ...int64) *pk {
	p.op('(')
	for _, n := range v {
		p.int(n)
	}
	return p.op('t')
}

// tspec is one tensor of a hand-made state_dict.
type tspec struct {
	name, stype, key string
	numel            int64
	offset           int64
	size, stride     []int64
}

// tensor pushes a _rebuild_tensor_v2 call.
func (p *pk) tensor(s tspec) *pk {
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", s.stype).str(s.key).str("cpu").int(s.numel).op('t', 'Q')
	p.int(s.offset).ints(s.size...).ints(s.stride...).op(0x89)
	p.global("collections", "OrderedDict").op(')', 'R')
	return p.op('t', 'R')
}

// stateDict is the pickle of {name: tensor, ...}.
func stateDict(specs ...tspec) []byte {
	p := newPk().op('}', '(')
	for _, s := range specs {
		p.str(s.name).tensor(s)
	}
	return p.op('u', '.').Bytes()
}

type rec struct {
	name string
	data []byte
}

// zipFile writes records as torch does (stored).
func zipFile(t testing.TB, recs ...rec) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, r := range recs {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: r.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(r.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ckptZip is a torch-like archive with the pickle and storages "0", "1"...
func ckptZip(t testing.TB, pkl []byte, storages ...[]byte) []byte {
	recs := []rec{{"archive/data.pkl", pkl}, {"archive/byteorder", []byte("little")}}
	for i, s := range storages {
		recs = append(recs, rec{"archive/data/" + string(rune('0'+i)), s})
	}
	return zipFile(t, append(recs, rec{"archive/version", []byte("3\n")})...)
}

func f32s(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func arange(n int) []byte {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return f32s(v...)
}

func parseBytes(b []byte) (*File, error) {
	return Parse(bytes.NewReader(b), int64(len(b)), "mem.pt")
}
