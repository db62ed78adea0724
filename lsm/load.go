package lsm

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Load writes one new model. Chunks go into an sstable that is ingested
// whole (no WAL, no memtable); records, names and bitmaps commit in one
// batch at Commit. Until then nothing of the model is visible, and a crash
// leaves only a pending marker that the next Open cleans up.
type Load struct {
	s       *Store
	name    string
	model   uint32
	first   uint32
	next    uint32
	end     uint32
	sstPath string
	sst     *sstable.Writer
	chunks  int
	records []TensorRecord
	done    bool
	remote  *remoteLoad
}

// BeginLoad starts writing model name with at most n tensors. It holds the
// store's write lock until Commit or Abort.
func (s *Store) BeginLoad(name string, n int) (*Load, error) {
	if name == "" {
		return nil, fmt.Errorf("vsdb: empty model name")
	}
	s.write.Lock()
	l, err := s.beginLoad(name, n)
	if err != nil {
		s.write.Unlock()
		return nil, err
	}
	if s.tier != nil {
		if err := l.beginRemote("ingest", nil); err != nil {
			return nil, l.fail(err)
		}
	}
	return l, nil
}

func (s *Store) beginLoad(name string, n int) (*Load, error) {
	r := s.Reader()
	defer r.Close()
	if _, exists, err := r.Model(name); err != nil {
		return nil, err
	} else if exists {
		return nil, fmt.Errorf("vsdb: model %q already exists (delete it with: vsdb delete %s, or choose another name)", name, name)
	}
	var seq seqRecord
	if v, ok, err := r.get(keySeq()); err != nil {
		return nil, err
	} else if ok {
		if err := decodeJSON("sequence", v, &seq); err != nil {
			return nil, err
		}
	}
	if uint64(seq.NextTensor)+uint64(n) > 1<<32-1 || seq.NextModel == 1<<32-1 {
		return nil, fmt.Errorf("vsdb: store has run out of tensor ids")
	}
	l := &Load{s: s, name: name, model: seq.NextModel, first: seq.NextTensor, next: seq.NextTensor, end: seq.NextTensor + uint32(n)}
	seq.NextModel++
	seq.NextTensor = l.end
	b := s.db.NewBatch()
	seqBytes, err := sealRecord("the id sequence", seq)
	if err != nil {
		return nil, err
	}
	pend, err := sealRecord("the pending ingest", pendingRecord{FirstTensor: l.first, EndTensor: l.end})
	if err != nil {
		return nil, err
	}
	b.Set(keySeq(), seqBytes, nil)
	b.Set(keyPending(l.model), pend, nil)
	if err := s.db.Apply(b, pebble.Sync); err != nil {
		return nil, fmt.Errorf("vsdb: begin ingest of %q: %w", name, err)
	}
	l.sstPath = filepath.Join(s.dir, "tmp", "load-"+strconv.FormatUint(uint64(l.model), 10)+".sst")
	f, err := s.opts.FS.Create(l.sstPath, vfs.WriteCategoryUnspecified)
	if err != nil {
		return nil, fmt.Errorf("vsdb: begin ingest of %q: %w", name, err)
	}
	wo := s.db.FormatMajorVersion().MaxTableFormat()
	opts := sstable.WriterOptions{TableFormat: wo, Compression: sstable.NoCompression, MergerName: readsMerger.Name, BlockSize: 32 << 10}
	l.sst = sstable.NewWriter(objstorageprovider.NewFileWritable(f), opts)
	return l, nil
}

// Model is the id of the model being written.
func (l *Load) Model() uint32 { return l.model }

// NewTensor reserves the next tensor id.
func (l *Load) NewTensor() (uint32, error) {
	if l.next >= l.end {
		return 0, fmt.Errorf("vsdb: ingest of %q wrote more tensors than it reserved", l.name)
	}
	l.next++
	return l.next - 1, nil
}

// PutChunk stores chunk idx of tensor id. Calls must come in (id, idx) order.
func (l *Load) PutChunk(id uint32, idx int, enc []byte) error {
	if l.remote != nil {
		l.chunks++
		return l.remote.putChunk(l.name, id, enc)
	}
	if err := l.sst.Set(KeyChunk(id, uint32(idx)), enc); err != nil {
		return fmt.Errorf("vsdb: writing chunk %d of tensor %d: %w", idx, id, err)
	}
	l.chunks++
	return nil
}

// AddTensor records a tensor whose chunks have all been put.
func (l *Load) AddTensor(t TensorRecord) {
	t.Model = l.model
	t.Order = len(l.records)
	if l.remote != nil && l.remote.attached == nil {
		t.Hashes = l.remote.hashes[t.ID]
	}
	l.records = append(l.records, t)
}

// Commit makes the model visible: ingests the chunks, then writes records,
// names, bitmaps and the model record in one synced batch.
func (l *Load) Commit(ctx context.Context, m ModelRecord) error {
	if l.done {
		return fmt.Errorf("vsdb: ingest of %q already finished", l.name)
	}
	if err := ctx.Err(); err != nil {
		return l.fail(fmt.Errorf("vsdb: ingest of %q cancelled", l.name))
	}
	if l.remote != nil {
		if err := l.remote.wait(l.name); err != nil {
			return l.fail(err)
		}
		m.Remote = true
		if l.remote.attached == nil {
			m.RemoteID = nonce() + nonce()
		}
	}
	if err := l.checkBases(m.Base); err != nil {
		return l.fail(err)
	}
	err := l.sst.Close()
	l.sst = nil
	if err != nil {
		return l.fail(fmt.Errorf("vsdb: ingest of %q: finishing sstable: %w", l.name, err))
	}
	if l.chunks > 0 && l.remote == nil {
		if err := l.s.db.Ingest(ctx, []string{l.sstPath}); err != nil {
			return l.fail(fmt.Errorf("vsdb: ingest of %q: %w", l.name, err))
		}
	}
	l.s.opts.FS.Remove(l.sstPath)
	b, m, err := l.commitBatch(m)
	if err != nil {
		return l.fail(fmt.Errorf("vsdb: commit of %q: %w", l.name, err))
	}
	if l.remote != nil {
		if err := l.publishRemote(m); err != nil {
			b.Close()
			return l.fail(err)
		}
	}
	if err := l.s.applyIndexed(b, pebble.Sync); err != nil {
		if l.remote != nil {
			l.remote.unpublish(l)
		}
		return l.fail(fmt.Errorf("vsdb: commit of %q: %w", l.name, err))
	}
	l.finish()
	return nil
}

// publishRemote writes the manifest (or, for an attach, the hold).
func (l *Load) publishRemote(m ModelRecord) error {
	mf := l.remote.attached
	if mf == nil {
		r := l.s.Reader()
		var err error
		mf, err = l.buildManifest(r, m)
		r.Close()
		if err != nil {
			return err
		}
	}
	return l.remote.publish(l, mf)
}

// checkBases refuses deltas whose base is gone. The base was read from a
// snapshot taken before BeginLoad took the write lock, so a DELETE MODEL
// of it may have committed in between; the deltas would then be stored
// against nothing, and the model could never be read. Under the write
// lock, what is checked here stays true until the commit.
func (l *Load) checkBases(base string) error {
	r := l.s.Reader()
	defer r.Close()
	if base != "" {
		if _, ok, err := r.Model(base); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("vsdb: ingest of %q: its base model %q was deleted meanwhile", l.name, base)
		}
	}
	for i := range l.records {
		id := l.records[i].Base
		if id == nil {
			continue
		}
		if _, ok, err := r.get(KeyTensor(*id)); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("vsdb: ingest of %q: tensor %q is a delta against tensor %d, deleted meanwhile with its model", l.name, l.records[i].Name, *id)
		}
	}
	return nil
}

// commitBatch returns the batch that makes the model visible and the
// model's final record.
func (l *Load) commitBatch(m ModelRecord) (*pebble.Batch, ModelRecord, error) {
	b := l.s.db.NewBatch()
	m.ID, m.Name, m.Tensors = l.model, l.name, len(l.records)
	m.FirstTensor, m.EndTensor = l.first, l.end
	if m.Created == "" {
		m.Created = time.Now().UTC().Format(time.RFC3339)
	}
	index := bitmapDelta{}
	for i := range l.records {
		t := &l.records[i]
		m.RawBytes += t.RawBytes
		m.Stored += t.Stored
		rec, err := sealRecord(fmt.Sprintf("tensor %q", t.Name), t)
		if err != nil {
			b.Close()
			return nil, m, err
		}
		b.Set(KeyTensor(t.ID), rec, nil)
		b.Set(KeyName(l.model, t.Name), u32(nil, t.ID), nil)
		index.addTensor(t)
	}
	if err := mergeBitmaps(l.s, b, index, nil); err != nil {
		b.Close()
		return nil, m, err
	}
	rec, err := sealRecord(fmt.Sprintf("model %q", l.name), m)
	if err != nil {
		b.Close()
		return nil, m, err
	}
	b.Set(KeyModel(l.name), rec, nil)
	b.Delete(keyPending(l.model), nil)
	return b, m, nil
}

// mergeBitmaps ORs add into and removes remove from the stored bitmaps,
// writing the results into b. The caller holds the write lock.
func mergeBitmaps(s *Store, b *pebble.Batch, add, remove bitmapDelta) error {
	r := s.Reader()
	defer r.Close()
	keys := map[string]bool{}
	for k := range add {
		keys[k] = true
	}
	for k := range remove {
		keys[k] = true
	}
	for k := range keys {
		bm := roaring.New()
		if v, ok, err := r.get([]byte(k)); err != nil {
			return err
		} else if ok {
			if _, err := bm.FromBuffer(v); err != nil {
				return fmt.Errorf("vsdb: corrupt index %q: %v", k, err)
			}
		}
		if a := add[k]; a != nil {
			bm.Or(a)
		}
		if rm := remove[k]; rm != nil {
			bm.AndNot(rm)
		}
		if bm.IsEmpty() {
			b.Delete([]byte(k), nil)
			continue
		}
		bm.RunOptimize()
		v, err := bm.ToBytes()
		if err != nil {
			return err
		}
		b.Set([]byte(k), v, nil)
	}
	return nil
}

// Abort drops everything the load wrote. Safe to call after Commit.
func (l *Load) Abort() error {
	if l.done {
		return nil
	}
	return l.fail(nil)
}

func (l *Load) fail(cause error) error {
	if l.sst != nil {
		l.sst.Close()
	}
	l.s.opts.FS.Remove(l.sstPath)
	b := l.s.db.NewBatch()
	deleteTensorRange(b, l.first, l.end)
	b.Delete(keyPending(l.model), nil)
	if err := l.s.db.Apply(b, pebble.Sync); err != nil && cause == nil {
		cause = fmt.Errorf("vsdb: cleaning up ingest of %q: %w", l.name, err)
	}
	l.finish()
	return cause
}

func (l *Load) finish() {
	if l.remote != nil {
		l.remote.end()
	}
	l.done = true
	l.s.write.Unlock()
}
