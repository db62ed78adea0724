package engine

import (
	"io"
	"runtime"
	"sync"
)

// WriteTo writes the rest of the tensor to w, decoding its chunks on
// GOMAXPROCS goroutines a few chunks ahead of the writer, in order. Export
// and the server's tensor endpoint go through here: decoding (checksum and
// codec) no longer waits for the previous chunk's write, and the chunks
// are written from the buffers they were decoded into.
func (s *rawStream) WriteTo(w io.Writer) (int64, error) {
	rec := &s.r.rec
	cb := rec.ChunkBytes
	n := rec.Chunks()
	if s.off%cb != 0 || n-int(s.off/cb) < 2 {
		return s.copyTo(w)
	}
	workers := min(runtime.GOMAXPROCS(0), n)
	depth := 2 * workers
	type job struct {
		buf  []byte
		i    int
		err  error
		done chan struct{}
	}
	jobs := make(chan *job, depth)
	var wg sync.WaitGroup
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.err = s.r.decodeInto(j.buf, j.i)
				close(j.done)
			}
		}()
	}
	var free [][]byte
	var queue []*job
	next := int(s.off / cb)
	submit := func() {
		var buf []byte
		if k := len(free); k > 0 {
			buf, free = free[k-1], free[:k-1]
		} else {
			buf = make([]byte, cb)
		}
		j := &job{buf: buf[:rec.ChunkRaw(next)], i: next, done: make(chan struct{})}
		queue = append(queue, j)
		jobs <- j
		next++
	}
	stop := func() {
		close(jobs)
		for _, j := range queue {
			<-j.done
		}
		wg.Wait()
	}
	for next < n && len(queue) < depth {
		submit()
	}
	var written int64
	for len(queue) > 0 {
		j := queue[0]
		queue = queue[1:]
		<-j.done
		if j.err != nil {
			stop()
			return written, j.err
		}
		k, err := w.Write(j.buf)
		written += int64(k)
		s.off += int64(k)
		if err != nil {
			stop()
			return written, err
		}
		free = append(free, j.buf[:cap(j.buf)])
		if next < n {
			submit()
		}
	}
	stop()
	return written, nil
}

// copyTo is WriteTo without read-ahead, for streams already partly read
// or of one chunk.
func (s *rawStream) copyTo(w io.Writer) (int64, error) {
	buf := make([]byte, min(s.r.rec.ChunkBytes, max(1, s.size-s.off)))
	var written int64
	for s.off < s.size {
		k, err := s.Read(buf)
		if err != nil {
			return written, err
		}
		m, err := w.Write(buf[:k])
		written += int64(m)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}
