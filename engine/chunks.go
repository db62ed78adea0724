package engine

import (
	"fmt"
	"io"
	"sync"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/lsm"
)

// chunkSink cuts a tensor's raw bytes into chunks, encodes them on a pool of
// workers and puts them into the load in order. Memory is bounded by
// (2 × workers + 1) chunks.
type chunkSink struct {
	load       *lsm.Load
	codec      codec.Codec
	chunkBytes int
	jobs       chan *chunkJob
	queue      []*chunkJob
	depth      int
	wg         sync.WaitGroup
	free       [][]byte // raw chunk buffers (a free list: sync.Pool loses them at every GC)
	freeEnc    [][]byte // encoded chunk buffers
	isRaw      bool

	// per tensor
	id       uint32
	elemSize int
	buf      []byte
	idx      int
	crcs     []uint32
	rawCRC   uint32
	stored   int64
	raw      int64
}

type chunkJob struct {
	raw      []byte
	enc      []byte
	elemSize int
	err      error
	done     chan struct{}
}

func newChunkSink(load *lsm.Load, c codec.Codec, chunkBytes int64, workers int) *chunkSink {
	s := &chunkSink{load: load, codec: c, chunkBytes: int(chunkBytes), jobs: make(chan *chunkJob), depth: 2 * workers}
	_, s.isRaw = c.(codec.Raw)
	for i := 0; i < workers; i++ {
		s.wg.Add(1)
		go s.work()
	}
	return s
}

func (s *chunkSink) work() {
	defer s.wg.Done()
	for j := range s.jobs {
		if s.isRaw {
			j.enc = j.raw // stored as is: no copy
		} else {
			j.enc, j.err = s.codec.Encode(j.enc[:0], j.raw, j.elemSize)
		}
		close(j.done)
	}
}

// close stops the workers; pending chunks are dropped.
func (s *chunkSink) close() {
	for _, j := range s.queue {
		<-j.done
	}
	s.queue = nil
	close(s.jobs)
	s.wg.Wait()
}

// begin starts a new tensor.
func (s *chunkSink) begin(id uint32, elemSize int) {
	s.id, s.elemSize, s.idx = id, elemSize, 0
	s.crcs, s.rawCRC, s.stored, s.raw = []uint32{}, 0, 0, 0
	s.buf = s.take()
}

func (s *chunkSink) take() []byte {
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, s.chunkBytes)
}

// ReadFrom reads the tensor's bytes straight into chunk buffers.
func (s *chunkSink) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		start := len(s.buf)
		n, err := io.ReadFull(r, s.buf[start:s.chunkBytes])
		s.buf = s.buf[:start+n]
		s.rawCRC = codec.UpdateChecksum(s.rawCRC, s.buf[start:])
		s.raw += int64(n)
		total += int64(n)
		if len(s.buf) == s.chunkBytes {
			if serr := s.submit(); serr != nil {
				return total, serr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Write accepts the next raw bytes of the tensor.
func (s *chunkSink) Write(p []byte) (int, error) {
	n := len(p)
	s.rawCRC = codec.UpdateChecksum(s.rawCRC, p)
	s.raw += int64(n)
	for len(p) > 0 {
		k := min(len(p), s.chunkBytes-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p = p[k:]
		if len(s.buf) == s.chunkBytes {
			if err := s.submit(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// submit hands the full buffer to the workers, first draining the oldest
// job if the queue is full.
func (s *chunkSink) submit() error {
	if len(s.queue) >= s.depth {
		if err := s.drainOne(); err != nil {
			return err
		}
	}
	j := &chunkJob{raw: s.buf, elemSize: s.elemSize, done: make(chan struct{})}
	if n := len(s.freeEnc); n > 0 && !s.isRaw {
		j.enc = s.freeEnc[n-1][:0]
		s.freeEnc = s.freeEnc[:n-1]
	}
	s.queue = append(s.queue, j)
	s.jobs <- j
	s.buf = s.take()
	return nil
}

func (s *chunkSink) drainOne() error {
	j := s.queue[0]
	s.queue = s.queue[1:]
	<-j.done
	defer s.recycle(j)
	if j.err != nil {
		return fmt.Errorf("vsdb: encoding chunk %d: %w", s.idx, j.err)
	}
	if err := s.load.PutChunk(s.id, s.idx, j.enc); err != nil {
		return err
	}
	s.crcs = append(s.crcs, codec.Checksum(j.enc))
	s.stored += int64(len(j.enc))
	s.idx++
	return nil
}

// recycle returns a finished job's buffers to the pools.
func (s *chunkSink) recycle(j *chunkJob) {
	s.free = append(s.free, j.raw)
	if !s.isRaw && j.enc != nil {
		s.freeEnc = append(s.freeEnc, j.enc)
	}
}

// end flushes the tensor's last chunk and waits for all of its chunks.
func (s *chunkSink) end() error {
	if len(s.buf) > 0 {
		if err := s.submit(); err != nil {
			return err
		}
	}
	for len(s.queue) > 0 {
		if err := s.drainOne(); err != nil {
			return err
		}
	}
	return nil
}

// record fills the storage fields of a tensor record.
func (s *chunkSink) record(t *lsm.TensorRecord) {
	t.ID, t.Codec, t.RawBytes, t.Stored = s.id, s.codec.Name(), s.raw, s.stored
	t.ChunkBytes, t.ChunkCRCs, t.RawCRC = int64(s.chunkBytes), s.crcs, s.rawCRC
}
