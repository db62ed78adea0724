package objstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrDown is what a Mem bucket returns while it is down.
var ErrDown = errors.New("object store is down (injected)")

// Mem is a Bucket in memory, for tests: objects, request counters, and
// faults to inject (down, fail the next n calls, corrupt an object).
type Mem struct {
	mu      sync.Mutex
	objects map[string]memObject
	down    atomic.Bool
	failN   atomic.Int64
	delay   atomic.Int64 // nanoseconds each call waits
	// Requests counts calls by method (PUT, GET, HEAD, LIST, DELETE).
	requests sync.Map
}

type memObject struct {
	data     []byte
	modified time.Time
}

// NewMem returns an empty bucket.
func NewMem() *Mem { return &Mem{objects: map[string]memObject{}} }

func (m *Mem) String() string { return "mem://test" }

// SetDown makes every call fail (or succeed again).
func (m *Mem) SetDown(down bool) { m.down.Store(down) }

// SetDelay makes every call wait d first (a slow store), or ctx's end.
func (m *Mem) SetDelay(d time.Duration) { m.delay.Store(int64(d)) }

// FailNext makes the next n calls fail with a transient error.
func (m *Mem) FailNext(n int) { m.failN.Store(int64(n)) }

// Requests returns how many calls of method were made.
func (m *Mem) Requests(method string) int64 {
	v, ok := m.requests.Load(method)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// Keys lists the objects under prefix, sorted.
func (m *Mem) Keys(prefix string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Corrupt flips byte i of an object.
func (m *Mem) Corrupt(key string, i int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.objects[key]
	o.data = append([]byte(nil), o.data...)
	o.data[i] ^= 0xff
	m.objects[key] = o
}

func (m *Mem) enter(ctx context.Context, method string) error {
	v, _ := m.requests.LoadOrStore(method, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	if d := time.Duration(m.delay.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.down.Load() {
		return ErrDown
	}
	if m.failN.Add(-1) >= 0 {
		return fmt.Errorf("transient failure (injected)")
	}
	return nil
}

func (m *Mem) Put(ctx context.Context, key string, data []byte) error {
	if err := m.enter(ctx, "PUT"); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[key] = memObject{data: append([]byte(nil), data...), modified: time.Now()}
	return nil
}

func (m *Mem) Get(ctx context.Context, key string) ([]byte, error) {
	if err := m.enter(ctx, "GET"); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	if !ok {
		return nil, ErrNotFound
	}
	return append([]byte(nil), o.data...), nil
}

func (m *Mem) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	b, err := m.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if off < 0 || n < 0 || off+n > int64(len(b)) {
		return nil, Permanent(fmt.Errorf("range [%d, %d) outside %s (%d bytes)", off, off+n, key, len(b)))
	}
	return b[off : off+n], nil
}

func (m *Mem) Stat(ctx context.Context, key string) (Info, error) {
	if err := m.enter(ctx, "HEAD"); err != nil {
		return Info{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	if !ok {
		return Info{}, ErrNotFound
	}
	return Info{Key: key, Size: int64(len(o.data)), Modified: o.modified}, nil
}

func (m *Mem) List(ctx context.Context, prefix string, fn func(Info) error) error {
	if err := m.enter(ctx, "LIST"); err != nil {
		return err
	}
	m.mu.Lock()
	var infos []Info
	for k, o := range m.objects {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, Info{Key: k, Size: int64(len(o.data)), Modified: o.modified})
		}
	}
	m.mu.Unlock()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	for _, i := range infos {
		if err := fn(i); err != nil {
			return err
		}
	}
	return nil
}

func (m *Mem) Delete(ctx context.Context, key string) error {
	if err := m.enter(ctx, "DELETE"); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, key)
	return nil
}
