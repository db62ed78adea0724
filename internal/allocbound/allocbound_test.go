package allocbound

import "testing"

var sink []byte

func TestBytes(t *testing.T) {
	if raceDetector {
		t.Skip("allocation counts vary under the race detector; scripts/test.sh runs this without it")
	}
	if got := Bytes(func() { sink = make([]byte, 1<<20) }); got < 1<<20 || got > 2<<20 {
		t.Errorf("a 1 MiB allocation measured %d bytes", got)
	}
	if got := Bytes(func() {}); got > 4<<10 {
		t.Errorf("an empty call measured %d bytes", got)
	}
	ft := &fakeT{}
	Check(ft, "make", 0, 1<<10, func() { sink = make([]byte, 1<<20) })
	if !ft.failed {
		t.Error("Check let 1 MiB through a 1 KiB bound")
	}
}

type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Fatalf(string, ...any) { f.failed = true }
