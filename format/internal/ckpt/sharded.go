package ckpt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
)

// Sharded is a checkpoint split over several files of one format and
// described by an index ({"metadata": {...}, "weight_map": {tensor:
// shard}}), as Hugging Face writes model.safetensors.index.json and
// pytorch_model.bin.index.json. It implements Source: Entries lists every
// tensor, shard by shard (shards in file-name order), each shard in its
// own order.
type Sharded struct {
	path    string
	root    *os.Root
	shards  []Source
	names   []string // shard paths
	entries []Entry
	where   []shardPos
	meta    map[string]string
	closed  atomic.Bool
}

// MaxIndexSize bounds an index file.
const MaxIndexSize = 100_000_000

// OpenShard opens one shard, given its open file (which it then owns) and
// path.
type OpenShard func(f *os.File, path string) (Source, error)

type shardPos struct{ shard, index int }

// OpenIndex opens an index file and every shard it names with open.
// Shard paths are relative to the index's folder and may not leave it
// (".." components, absolute paths and symbolic links that point outside
// are refused). Every tensor of weight_map must be in its shard, and every
// tensor of every shard must be listed for that shard.
func OpenIndex(indexPath string, open OpenShard) (_ *Sharded, err error) {
	f, err := os.Open(indexPath)
	if err != nil {
		return nil, OSError(err, indexPath, "cannot open")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, OSError(err, indexPath, "cannot stat")
	}
	if !fi.Mode().IsRegular() {
		return nil, Errorf(indexPath, "not a regular file")
	}
	if fi.Size() > MaxIndexSize {
		return nil, Errorf(indexPath, "index is %d bytes, more than the %d-byte limit", fi.Size(), MaxIndexSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxIndexSize+1))
	if err != nil {
		return nil, OSError(err, indexPath, "read")
	}
	if IsLFSPointer(data) {
		return nil, LFSError(indexPath)
	}
	weightMap, order, meta, err := parseIndex(data, indexPath)
	if err != nil {
		return nil, err
	}

	dir := filepath.Dir(indexPath)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, OSError(err, dir, "cannot open the index's folder")
	}
	s := &Sharded{path: indexPath, root: root, meta: map[string]string{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	// Shards in file-name order; weight_map values are cleaned so that
	// "./a.safetensors" and "a.safetensors" are one shard.
	shardNames := slices.Sorted(maps.Keys(invert(weightMap)))
	byName := map[string]Source{}
	for _, name := range shardNames {
		shardPath := filepath.Join(dir, filepath.FromSlash(name))
		sf, err := root.Open(filepath.FromSlash(name))
		if err != nil {
			return nil, OSError(err, indexPath, "shard "+name+" (listed in weight_map)")
		}
		shard, err := open(sf, shardPath)
		if err != nil {
			sf.Close()
			return nil, err
		}
		s.shards = append(s.shards, shard)
		s.names = append(s.names, shardPath)
		byName[name] = shard
	}

	// Every tensor of weight_map must be in the shard it names.
	for _, tname := range order {
		shard := weightMap[tname]
		if !slices.ContainsFunc(byName[shard].Entries(), func(e Entry) bool { return e.Name == tname }) {
			return nil, Errorf(indexPath, "tensor %q is listed in weight_map for shard %s but %s does not contain it", tname, shard, shard)
		}
	}
	// Every tensor of every shard must be listed in weight_map, for it.
	for si, shard := range s.shards {
		name := shardNames[si]
		for ei, e := range shard.Entries() {
			switch listed, ok := weightMap[e.Name]; {
			case !ok:
				return nil, Errorf(indexPath, "shard %s contains tensor %q, which weight_map does not list", name, e.Name)
			case listed != name:
				return nil, Errorf(indexPath, "shard %s contains tensor %q, which weight_map assigns to shard %s", name, e.Name, listed)
			}
			s.entries = append(s.entries, e)
			s.where = append(s.where, shardPos{si, ei})
		}
		for k, v := range shard.Metadata() {
			if _, ok := s.meta[k]; !ok {
				s.meta[k] = v
			}
		}
	}
	for k, v := range meta {
		if _, ok := s.meta[k]; !ok {
			s.meta[k] = v
		}
	}
	return s, nil
}

func invert(m map[string]string) map[string]bool {
	out := map[string]bool{}
	for _, v := range m {
		out[v] = true
	}
	return out
}

// parseIndex returns weight_map (tensor -> cleaned shard path), the tensor
// names in listing order, and "metadata" with non-string values kept as
// their compact JSON text (total_size is a number in real indexes).
func parseIndex(data []byte, indexPath string) (map[string]string, []string, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	bad := func(err error) error {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Wrap(err, indexPath, "index is not valid JSON")
	}
	expect := func(want json.Delim, what string) error {
		tok, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != want {
			return Errorf(indexPath, "index: %s must be a JSON object", what)
		}
		return nil
	}
	if err := expect('{', "the index"); err != nil {
		return nil, nil, nil, err
	}
	var weightMap map[string]string
	var order []string
	meta := map[string]string{}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, nil, bad(err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, nil, nil, Errorf(indexPath, "index lists %q twice", key)
		}
		seen[key] = true
		switch key {
		case "weight_map":
			if err := expect('{', "weight_map"); err != nil {
				return nil, nil, nil, err
			}
			weightMap = map[string]string{}
			for dec.More() {
				var tname, shard string
				tok, err := dec.Token()
				if err != nil {
					return nil, nil, nil, bad(err)
				}
				tname, _ = tok.(string)
				if tok, err = dec.Token(); err != nil {
					return nil, nil, nil, bad(err)
				}
				shard, ok := tok.(string)
				if !ok {
					return nil, nil, nil, Errorf(indexPath, "weight_map[%q] must be a shard file name", tname)
				}
				if _, dup := weightMap[tname]; dup {
					return nil, nil, nil, Errorf(indexPath, "weight_map lists tensor %q twice", tname)
				}
				if !filepath.IsLocal(filepath.FromSlash(shard)) || strings.Contains(shard, "\x00") {
					return nil, nil, nil, Errorf(indexPath, "tensor %q: shard path %q leaves the index's folder (refused)", tname, shard)
				}
				weightMap[tname] = path.Clean(filepath.ToSlash(shard))
				order = append(order, tname)
			}
			if _, err := dec.Token(); err != nil {
				return nil, nil, nil, bad(err)
			}
		case "metadata":
			tok, err := dec.Token()
			if err != nil {
				return nil, nil, nil, bad(err)
			}
			if tok == nil {
				continue
			}
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return nil, nil, nil, Errorf(indexPath, "index: metadata must be a JSON object")
			}
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return nil, nil, nil, bad(err)
				}
				k, _ := tok.(string)
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return nil, nil, nil, bad(err)
				}
				var s string
				if json.Unmarshal(raw, &s) != nil {
					var buf bytes.Buffer
					if json.Compact(&buf, raw) != nil {
						return nil, nil, nil, Errorf(indexPath, "index: metadata[%q] is not valid JSON", k)
					}
					s = buf.String()
				}
				meta[k] = s
			}
			if _, err := dec.Token(); err != nil {
				return nil, nil, nil, bad(err)
			}
		default: // other keys are informational: skip them
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, nil, nil, bad(err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, nil, bad(err)
	}
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, nil, nil, Errorf(indexPath, "index has data after its JSON object")
	}
	if weightMap == nil {
		return nil, nil, nil, Errorf(indexPath, "index has no weight_map")
	}
	if len(weightMap) == 0 {
		return nil, nil, nil, Errorf(indexPath, "weight_map lists no tensors")
	}
	return weightMap, order, meta, nil
}

// Path returns the index's path.
func (s *Sharded) Path() string { return s.path }

// Entries returns every tensor, shard by shard.
func (s *Sharded) Entries() []Entry { return slices.Clone(s.entries) }

// Metadata returns the shards' __metadata__ merged (the first shard to
// define a key wins), then the index's "metadata" for keys not yet set,
// non-string values as compact JSON text (e.g. total_size).
func (s *Sharded) Metadata() map[string]string { return maps.Clone(s.meta) }

// Shard returns the path of the shard holding tensor i.
func (s *Sharded) Shard(i int) string { return s.names[s.where[i].shard] }

// Open streams tensor i from its shard.
func (s *Sharded) Open(i int) (io.ReadCloser, error) {
	if i < 0 || i >= len(s.entries) {
		return nil, Errorf(s.path, "no tensor number %d (the checkpoint has %d)", i, len(s.entries))
	}
	w := s.where[i]
	return s.shards[w.shard].Open(w.index)
}

// Close closes every shard.
func (s *Sharded) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	var first error
	for _, sh := range s.shards {
		if err := sh.Close(); err != nil && first == nil {
			first = err
		}
	}
	if s.root != nil {
		s.root.Close()
	}
	return first
}
