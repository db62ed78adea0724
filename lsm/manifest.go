package lsm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vsdb/vsdb/objstore"
)

// manifest is what the bucket holds of one model: its record, its tensor
// records (with chunk names and checksums) and, for a model stored as
// deltas, the names of the base's chunks it reads. Local ids are left out:
// each node numbers tensors its own way when it attaches the model.
// Stored sealed like local records (a CRC-32C before the JSON).
type manifest struct {
	Format  int              `json:"format"`
	Model   ModelRecord      `json:"model"`
	Tensors []manifestTensor `json:"tensors"`
	// BaseChunks names the base's chunks this model's deltas read, so that
	// VACUUM keeps them while this manifest exists.
	BaseChunks []string `json:"base_chunks,omitempty"`
	Node       string   `json:"node"`
	Written    string   `json:"written"`
}

// manifestTensor is one tensor of a manifest. The record is a field, not
// embedded: TensorRecord has its own MarshalJSON, which an embedded
// record would promote, dropping BaseTensor.
type manifestTensor struct {
	Record TensorRecord `json:"record"`
	// BaseTensor names, in the base model, the tensor this one is a delta of.
	BaseTensor string `json:"base_tensor,omitempty"`
}

const manifestFormat = 1 // not yet released: layouts before this one were never published

// buildManifest describes a model about to commit. r resolves base ids.
func (l *Load) buildManifest(r *Reader, m ModelRecord) ([]byte, error) {
	mf := manifest{Format: manifestFormat, Model: m, Node: l.s.tier.node, Written: time.Now().UTC().Format(time.RFC3339)}
	mf.Model.ID, mf.Model.FirstTensor, mf.Model.EndTensor = 0, 0, 0
	mf.Model.Name, mf.Model.Tensors, mf.Model.Remote = l.name, len(l.records), true
	seen := map[string]bool{}
	for _, t := range l.records {
		mt := manifestTensor{Record: t}
		mt.Record.ID, mt.Record.Model, mt.Record.Base = 0, 0, nil
		if t.Base != nil {
			bt, err := r.Tensor(*t.Base)
			if err != nil {
				return nil, err
			}
			if !bt.Remote() && bt.Chunks() > 0 {
				return nil, fmt.Errorf("vsdb: ingest of %q: its base %q keeps its chunks on this node only; a model in the object store needs a base there too", l.name, m.Base)
			}
			mt.BaseTensor = bt.Name
			for _, h := range bt.Hashes {
				if !seen[h] {
					seen[h] = true
					mf.BaseChunks = append(mf.BaseChunks, h)
				}
			}
		}
		mf.Tensors = append(mf.Tensors, mt)
	}
	return sealRecord(fmt.Sprintf("the manifest of %q", l.name), mf)
}

// readManifest fetches and checks the manifest at key.
func (t *tier) readManifest(ctx context.Context, key string) (manifest, error) {
	var mf manifest
	b, err := t.bucket.Get(ctx, key)
	if err != nil {
		return mf, err
	}
	return decodeManifest(t, key, b)
}

func decodeManifest(t *tier, key string, b []byte) (manifest, error) {
	var mf manifest
	if len(b) > maxManifest {
		return mf, fmt.Errorf("vsdb: manifest %s in %s is %d bytes (more than %d)", key, t.name, len(b), maxManifest)
	}
	if err := decodeJSON("manifest "+key+" in "+t.name, b, &mf); err != nil {
		return mf, err
	}
	if mf.Format != manifestFormat {
		return mf, fmt.Errorf("vsdb: manifest %s in %s has format %d; this vsdb reads format %d", key, t.name, mf.Format, manifestFormat)
	}
	if err := mf.check(); err != nil {
		return mf, fmt.Errorf("vsdb: manifest %s in %s: %v", key, t.name, err)
	}
	return mf, nil
}

// check refuses a manifest whose seal is right but whose content could not
// have been written by an ingest: it would break the local catalog.
func (mf *manifest) check() error {
	if mf.Model.Name == "" {
		return fmt.Errorf("the model has no name")
	}
	if len(mf.Tensors) == 0 || mf.Model.Tensors != len(mf.Tensors) {
		return fmt.Errorf("model %q lists %d tensors, its record says %d", mf.Model.Name, len(mf.Tensors), mf.Model.Tensors)
	}
	names := make(map[string]bool, len(mf.Tensors))
	for i := range mf.Tensors {
		rec := &mf.Tensors[i].Record
		switch {
		case rec.Name == "":
			return fmt.Errorf("tensor %d has no name", i)
		case names[rec.Name]:
			return fmt.Errorf("tensor %q is listed twice", rec.Name)
		case len(rec.Hashes) != len(rec.ChunkCRCs):
			return fmt.Errorf("tensor %q names %d chunk objects for %d chunks", rec.Name, len(rec.Hashes), len(rec.ChunkCRCs))
		case (mf.Tensors[i].BaseTensor != "") != (mf.Model.Base != "" && rec.Delta != ""):
			return fmt.Errorf("tensor %q: its base tensor %q does not fit model base %q and delta %q", rec.Name, mf.Tensors[i].BaseTensor, mf.Model.Base, rec.Delta)
		}
		names[rec.Name] = true
		for _, h := range rec.Hashes {
			if _, err := hashBytes(h); err != nil {
				return fmt.Errorf("tensor %q names chunk %q", rec.Name, h)
			}
		}
	}
	return nil
}

// chunks lists every chunk name the manifest keeps alive.
func (mf *manifest) chunks(fn func(string)) {
	for i := range mf.Tensors {
		for _, h := range mf.Tensors[i].Record.Hashes {
			fn(h)
		}
	}
	for _, h := range mf.BaseChunks {
		fn(h)
	}
}

// exists reports whether an object exists.
func (t *tier) exists(ctx context.Context, key string) (bool, error) {
	_, err := t.bucket.Stat(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
