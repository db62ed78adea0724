package engine

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/lsm"
	"github.com/vsdb/vsdb/tensor"
)

// chunkSink cuts a tensor's raw bytes into chunks, encodes them on a pool of
// workers and puts them into the load in order. Memory is bounded by
// (2 × workers + 1) chunks.
type chunkSink struct {
	load       *lsm.Load
	codec      chunkCodec // of the current tensor
	chunkBytes int
	jobs       chan *chunkJob
	queue      []*chunkJob
	depth      int
	wg         sync.WaitGroup
	free       [][]byte // raw chunk buffers (a free list: sync.Pool loses them at every GC)
	freeEnc    [][]byte // encoded chunk buffers

	// per tensor
	id       uint32
	dtype    tensor.DType
	elemSize int
	num, den float64
	base     baseReader // nil unless stored as a delta
	baseOff  int64
	buf      []byte
	idx      int
	crcs     []uint32
	rawCRC   uint32
	stored   int64
	raw      int64
}

type chunkJob struct {
	raw   []byte
	base  []byte // the base tensor's bytes of this chunk, for deltas
	enc   []byte
	out   encoded
	codec chunkCodec
	dtype tensor.DType
	err   error
	done  chan struct{}
}

func newChunkSink(load *lsm.Load, chunkBytes int64, workers int) *chunkSink {
	s := &chunkSink{load: load, chunkBytes: int(chunkBytes), jobs: make(chan *chunkJob), depth: 2 * workers}
	for i := 0; i < workers; i++ {
		s.wg.Add(1)
		go s.work()
	}
	return s
}

func (s *chunkSink) work() {
	defer s.wg.Done()
	for j := range s.jobs {
		if j.codec.name == "raw" && j.base == nil {
			j.out = encoded{enc: j.raw} // stored as is: no copy
		} else {
			j.out, j.err = j.codec.encode(j.enc[:0], j.raw, j.dtype, j.base)
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

// baseReader reads raw bytes of a base tensor.
type baseReader interface {
	ReadRaw(off int64, dst []byte) error
}

// begin starts a new tensor of dtype dt, stored with codec c (float codecs
// fall back to lossless for non-float dtypes), as a delta against base when
// base is not nil.
func (s *chunkSink) begin(id uint32, dt tensor.DType, c chunkCodec, base baseReader) {
	s.id, s.dtype, s.elemSize, s.idx, s.codec = id, dt, dt.Size(), 0, c.forDType(dt)
	s.base, s.baseOff = base, 0
	s.crcs, s.rawCRC, s.stored, s.raw, s.num, s.den = []uint32{}, 0, 0, 0, 0, 0
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
	j := &chunkJob{raw: s.buf, codec: s.codec, dtype: s.dtype, done: make(chan struct{})}
	if s.base != nil {
		j.base = make([]byte, len(s.buf))
		if err := s.base.ReadRaw(s.baseOff, j.base); err != nil {
			return err
		}
		s.baseOff += int64(len(s.buf))
	}
	if n := len(s.freeEnc); n > 0 && s.codec.name != "raw" {
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
		return fmt.Errorf("vsdb: encoding chunk %d: %s", s.idx, strings.TrimPrefix(j.err.Error(), "vsdb: "))
	}
	enc := j.out.enc
	if err := s.load.PutChunk(s.id, s.idx, enc); err != nil {
		return err
	}
	returned := j.raw
	if j.out.decoded != nil {
		returned = j.out.decoded
	}
	s.rawCRC = codec.UpdateChecksum(s.rawCRC, returned)
	s.num += j.out.num
	s.den += j.out.den
	s.crcs = append(s.crcs, codec.Checksum(enc))
	s.stored += int64(len(enc))
	s.idx++
	j.enc = enc
	return nil
}

// recycle returns a finished job's buffers to the pools.
func (s *chunkSink) recycle(j *chunkJob) {
	s.free = append(s.free, j.raw)
	if (j.codec.name != "raw" || j.base != nil) && j.enc != nil {
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
	t.ID, t.Codec, t.RawBytes, t.Stored = s.id, s.codec.name, s.raw, s.stored
	t.ChunkBytes, t.ChunkCRCs, t.RawCRC = int64(s.chunkBytes), s.crcs, s.rawCRC
	if s.codec.lossy() {
		t.RelError = codec.RelativeError(s.num, s.den)
	}
	if s.base != nil {
		t.Delta = lsm.DeltaXOR
		if s.codec.float != nil {
			t.Delta = lsm.DeltaSub
		}
	}
}
