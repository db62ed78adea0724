package lsm

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/vsdb/vsdb/objstore"
)

// Attach builds this node's catalog of a model from its manifest in the
// object store: records, names and bitmaps, under new local ids; chunks
// stay in the bucket until read. A model stored as deltas brings its base
// (attached first when missing). name "" attaches every model in the
// bucket this node lacks. It returns the names attached, in order.
func (s *Store) Attach(ctx context.Context, name string) ([]string, error) {
	t, err := s.needTier("ATTACH")
	if err != nil {
		return nil, err
	}
	var names []string
	if name != "" {
		names = []string{name}
	} else if names, err = t.modelNames(ctx); err != nil {
		return nil, err
	}
	var done, failed []string
	for _, n := range names {
		_, exists, err := s.model(n)
		if err != nil {
			return done, err
		}
		if exists && name == "" {
			continue
		}
		got, err := s.attachOne(ctx, n, map[string]bool{})
		done = append(done, got...)
		var bad badManifest
		switch {
		case err == nil:
		case name == "" && s.has(n):
			// Attached meanwhile by another statement on this node.
		case name == "" && errors.As(err, &bad):
			// One bad manifest does not keep ATTACH ALL from the others.
			failed = append(failed, strings.TrimPrefix(err.Error(), "vsdb: "))
		case len(got) > 0:
			return done, fmt.Errorf("%w (attached meanwhile: %s)", err, strings.Join(got, ", "))
		default:
			return done, err
		}
	}
	if len(failed) > 0 {
		return done, fmt.Errorf("vsdb: ATTACH ALL attached %d %s%s; %d could not be: %s", len(done), plural(len(done), "model", "models"), listed(done), len(failed), strings.Join(failed, "; "))
	}
	return done, nil
}

// model reads a model record from a snapshot of its own.
func (s *Store) model(name string) (ModelRecord, bool, error) {
	r := s.Reader()
	defer r.Close()
	return r.Model(name)
}

// has reports whether a model is in the local catalog.
func (s *Store) has(name string) bool {
	_, ok, err := s.model(name)
	return err == nil && ok
}

// listed is " (a, b)" or "".
func listed(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// badManifest marks an error in a manifest's content (not in reaching the
// bucket): ATTACH ALL reports it and goes on with the other models.
type badManifest struct{ error }

func (b badManifest) Unwrap() error { return b.error }

// modelNames lists the models published in the bucket.
func (t *tier) modelNames(ctx context.Context) ([]string, error) {
	var names []string
	err := t.bucket.List(ctx, objModels, func(i objstore.Info) error {
		n, err := url.PathUnescape(strings.TrimPrefix(i.Key, objModels))
		// Keys vsdb did not write (not escaped as modelObject escapes)
		// name no model.
		if err == nil && n != "" && modelObject(n) == i.Key {
			names = append(names, n)
		}
		return nil
	})
	if err != nil {
		return nil, t.remoteErr("listing models", err)
	}
	sort.Strings(names)
	return names, nil
}

// attachOne attaches name, and its base first if needed; visiting guards
// against a cycle of bases in damaged manifests.
func (s *Store) attachOne(ctx context.Context, name string, visiting map[string]bool) ([]string, error) {
	t := s.tier
	if visiting[name] {
		return nil, badManifest{fmt.Errorf("vsdb: manifests in %s name a cycle of bases through %q", t.name, name)}
	}
	visiting[name] = true
	raw, err := t.bucket.Get(ctx, modelObject(name))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("vsdb: no model %q in %s", name, t.name)
	}
	if err != nil {
		return nil, t.remoteErr(fmt.Sprintf("ATTACH of %q: reading its manifest", name), err)
	}
	mf, err := decodeManifest(t, modelObject(name), raw)
	if err != nil {
		return nil, badManifest{err}
	}
	if mf.Model.Name != name {
		return nil, badManifest{fmt.Errorf("vsdb: manifest %s in %s describes model %q, not %q", modelObject(name), t.name, mf.Model.Name, name)}
	}
	var done []string
	if base := mf.Model.Base; base != "" {
		_, ok, err := s.model(base)
		if err != nil {
			return nil, err
		}
		if !ok {
			if done, err = s.attachOne(ctx, base, visiting); err != nil {
				return done, err
			}
		}
	}
	if err := s.attachManifest(name, mf, raw); err != nil {
		return done, err
	}
	return append(done, name), nil
}

// attachManifest commits the manifest's records under new local ids.
func (s *Store) attachManifest(name string, mf manifest, raw []byte) error {
	s.write.Lock()
	l, err := s.beginLoad(name, len(mf.Tensors))
	if err != nil {
		s.write.Unlock()
		return err
	}
	if err := l.beginRemote("attach", raw); err != nil {
		return l.fail(err)
	}
	baseIDs, err := s.baseIDs(mf)
	if err != nil {
		return l.fail(err)
	}
	for i := range mf.Tensors {
		rec := mf.Tensors[i].Record
		if rec.ID, err = l.NewTensor(); err != nil {
			return l.fail(err)
		}
		rec.Base = nil
		if bt := mf.Tensors[i].BaseTensor; bt != "" {
			id, ok := baseIDs[bt]
			if !ok {
				return l.fail(fmt.Errorf("vsdb: ATTACH of %q: tensor %q is a delta of %q, which its base %q lacks here", name, rec.Name, bt, mf.Model.Base))
			}
			rec.Base = &id
		}
		if err := rec.validate(rec.ID); err != nil {
			return l.fail(badManifest{fmt.Errorf("vsdb: manifest of %q in %s: %v", name, s.tier.name, strings.TrimPrefix(err.Error(), "vsdb: "))})
		}
		l.AddTensor(rec)
	}
	m := mf.Model
	m.Remote, m.RawBytes, m.Stored = true, 0, 0 // commitBatch sums them
	return l.Commit(context.Background(), m)
}

// baseIDs maps the tensor names of the manifest's base to local ids.
func (s *Store) baseIDs(mf manifest) (map[string]uint32, error) {
	out := map[string]uint32{}
	if mf.Model.Base == "" {
		return out, nil
	}
	r := s.Reader()
	defer r.Close()
	bm, ok, err := r.Model(mf.Model.Base)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("vsdb: ATTACH of %q: its base %q is not here", mf.Model.Name, mf.Model.Base)
	}
	ts, err := r.Tensors(bm)
	for _, t := range ts {
		out[t.Name] = t.ID
	}
	return out, err
}

// Detach forgets a model on this node: its local records go, its hold is
// released; the bucket keeps the manifest and the chunks.
func (s *Store) Detach(ctx context.Context, name string) error {
	t, err := s.needTier("DETACH")
	if err != nil {
		return err
	}
	m, ok, err := s.model(name)
	switch {
	case err != nil:
		return err
	case !ok:
		return fmt.Errorf("vsdb: no model %q", name)
	case !m.Remote:
		return fmt.Errorf("vsdb: model %q keeps its chunks on this node only; DETACH would lose it (DELETE MODEL %s removes it)", name, name)
	}
	published, err := t.publishes(ctx, m)
	if err != nil {
		return t.remoteErr(fmt.Sprintf("DETACH of %q: reading its manifest", name), err)
	}
	if !published {
		return fmt.Errorf("vsdb: model %q is no longer published in %s (deleted by another node, or its name reused for another model): this node's hold keeps its last copy, which DETACH would lose; EXPORT it first, or DELETE MODEL %s", name, t.name, name)
	}
	if err := s.deleteLocal(name); err != nil {
		return err
	}
	// Local records first, then the hold: a crash in between leaves a hold
	// that keeps chunks alive (a leak), never a model whose chunks VACUUM
	// may remove.
	if err := t.bucket.Delete(ctx, t.holdObject(name)); err != nil {
		return t.remoteErr(fmt.Sprintf("DETACH of %q: releasing its hold (the model is gone here; its chunks stay until the hold goes)", name), err)
	}
	return nil
}

// publishes reports whether the bucket's manifest under m's name is m's
// (not absent, nor another model published later under the same name).
func (t *tier) publishes(ctx context.Context, m ModelRecord) (bool, error) {
	mf, err := t.readManifest(ctx, modelObject(m.Name))
	if errors.Is(err, objstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return mf.Model.RemoteID == m.RemoteID, nil
}

// deleteRemote removes a model this node deletes from the bucket: the
// manifest (when it still is this model's) and this node's hold. Other
// nodes' holds keep the chunks.
func (s *Store) deleteRemote(ctx context.Context, m ModelRecord, published bool) error {
	t, name := s.tier, m.Name
	if published {
		if err := t.bucket.Delete(ctx, modelObject(name)); err != nil {
			return t.remoteErr(fmt.Sprintf("DELETE MODEL %q: removing its manifest", name), err)
		}
	}
	if err := t.bucket.Delete(ctx, t.holdObject(name)); err != nil {
		return t.remoteErr(fmt.Sprintf("DELETE MODEL %q: releasing its hold", name), err)
	}
	return nil
}

// remoteDependants names the models in the bucket stored as deltas of name.
func (t *tier) remoteDependants(ctx context.Context, name string) ([]string, error) {
	names, err := t.modelNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range names {
		if n == name {
			continue
		}
		mf, err := t.readManifest(ctx, modelObject(n))
		if errors.Is(err, objstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if mf.Model.Base == name {
			out = append(out, fmt.Sprintf("%q", n))
		}
	}
	return out, nil
}
