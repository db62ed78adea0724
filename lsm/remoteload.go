package lsm

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// remoteLoad is the object-store side of a Load: chunks go up to the bucket
// as they come (several uploads at once), under a lease; Commit publishes
// the hold and then the manifest, and only then commits locally.
type remoteLoad struct {
	t      *tier
	ctx    context.Context
	cancel context.CancelFunc
	lease  *lease
	// attached is the manifest of a model being attached (nil for an
	// ingest): only a hold is published.
	attached []byte
	hashes   map[uint32][]string
	seen     map[string]bool
	jobs     chan upload
	wg       sync.WaitGroup
	errOnce  sync.Once
	err      error
	// Uploaded and Deduped count chunk objects written and found present.
	uploaded, deduped, upBytes atomic.Int64
}

type upload struct {
	key  string
	data []byte
}

// beginRemote takes the lease and starts the uploaders.
func (l *Load) beginRemote(op string, attached []byte) error {
	t := l.s.tier
	ctx, cancel := context.WithCancel(context.Background())
	rl := &remoteLoad{t: t, ctx: ctx, cancel: cancel, attached: attached, hashes: map[uint32][]string{}, seen: map[string]bool{}}
	if attached == nil {
		if err := l.checkNameFree(ctx); err != nil {
			cancel()
			return err
		}
	}
	lctx, lcancel := t.ctx()
	defer lcancel()
	var err error
	if rl.lease, err = t.takeLease(lctx, op, l.name); err != nil {
		cancel()
		return err
	}
	rl.jobs = make(chan upload, 2*t.upload)
	for range t.upload {
		rl.wg.Add(1)
		go rl.work(rl.jobs)
	}
	l.remote = rl
	return nil
}

// checkNameFree refuses a name another node has published.
func (l *Load) checkNameFree(ctx context.Context) error {
	found, err := l.s.tier.exists(ctx, modelObject(l.name))
	if err != nil {
		return l.s.tier.remoteErr(fmt.Sprintf("ingest of %q: looking for its name", l.name), err)
	}
	if found {
		return fmt.Errorf("vsdb: model %q already exists in %s (ATTACH MODEL %s to use it here, or choose another name)", l.name, l.s.tier.name, l.name)
	}
	return nil
}

func (rl *remoteLoad) work(jobs <-chan upload) {
	defer rl.wg.Done()
	for j := range jobs {
		if rl.ctx.Err() != nil {
			continue
		}
		if err := rl.put(j); err != nil {
			rl.errOnce.Do(func() { rl.err = err; rl.cancel() })
		}
	}
}

// put uploads a chunk object unless the bucket has it already: objects are
// named by their content, so one that exists holds these very bytes.
func (rl *remoteLoad) put(j upload) error {
	found, err := rl.t.exists(rl.ctx, j.key)
	if err != nil {
		return err
	}
	if found {
		rl.deduped.Add(1)
		return nil
	}
	if err := rl.t.bucket.Put(rl.ctx, j.key, j.data); err != nil {
		return err
	}
	rl.uploaded.Add(1)
	rl.upBytes.Add(int64(len(j.data)))
	return nil
}

// putChunk queues chunk idx of tensor id for upload (enc is copied).
func (rl *remoteLoad) putChunk(name string, id uint32, enc []byte) error {
	h := chunkHash(enc)
	rl.hashes[id] = append(rl.hashes[id], h)
	if rl.seen[h] {
		rl.deduped.Add(1)
		return nil
	}
	rl.seen[h] = true
	select {
	case rl.jobs <- upload{key: chunkObject(h), data: append([]byte(nil), enc...)}:
		return nil
	case <-rl.ctx.Done():
		return rl.wait(name)
	}
}

// wait lets the queued uploads finish and returns the first failure.
func (rl *remoteLoad) wait(name string) error {
	if rl.jobs != nil {
		close(rl.jobs)
		rl.jobs = nil
	}
	rl.wg.Wait()
	if rl.err != nil {
		return rl.t.remoteErr(fmt.Sprintf("ingest of %q: uploading chunks", name), rl.err)
	}
	return nil
}

// publish writes this node's hold and, for an ingest, the manifest: the
// model becomes visible to other nodes when the manifest lands, complete.
func (rl *remoteLoad) publish(l *Load, mf []byte) error {
	if err := rl.lease.valid(); err != nil {
		return fmt.Errorf("%w; nothing was published", err)
	}
	ctx, cancel := rl.t.ctx()
	defer cancel()
	if rl.attached == nil {
		if err := l.checkNameFree(ctx); err != nil {
			return err
		}
	}
	if err := rl.t.bucket.Put(ctx, rl.t.holdObject(l.name), mf); err != nil {
		return rl.t.remoteErr(fmt.Sprintf("publishing %q", l.name), err)
	}
	if rl.attached != nil {
		return nil
	}
	if err := rl.t.bucket.Put(ctx, modelObject(l.name), mf); err != nil {
		return rl.t.remoteErr(fmt.Sprintf("publishing %q", l.name), err)
	}
	return nil
}

// unpublish takes back what publish wrote, when the local commit failed.
func (rl *remoteLoad) unpublish(l *Load) {
	ctx, cancel := rl.t.ctx()
	defer cancel()
	if rl.attached == nil {
		rl.t.bucket.Delete(ctx, modelObject(l.name))
	}
	rl.t.bucket.Delete(ctx, rl.t.holdObject(l.name))
}

// end stops the uploaders (if still running) and releases the lease.
func (rl *remoteLoad) end() {
	rl.cancel()
	if rl.jobs != nil {
		close(rl.jobs)
		rl.jobs = nil
	}
	rl.wg.Wait()
	rl.lease.release()
}

// UploadStats says what a remote load sent: chunk objects uploaded, chunk
// references found already in the bucket (or twice in this load), bytes sent.
type UploadStats struct {
	Uploaded, Deduped, Bytes int64
}

// Uploads reports what the load sent to the object store so far.
func (l *Load) Uploads() UploadStats {
	if l.remote == nil {
		return UploadStats{}
	}
	rl := l.remote
	return UploadStats{Uploaded: rl.uploaded.Load(), Deduped: rl.deduped.Load(), Bytes: rl.upBytes.Load()}
}
