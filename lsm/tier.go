package lsm

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vsdb/vsdb/objstore"
)

// TierOptions put a store's chunks in an S3-compatible object store that
// several vsdb nodes share. Local Pebble keeps the catalog, the bitmaps,
// the access counts and a bounded cache of chunks; see docs/SCALE.md.
//
// Objects under the bucket's prefix:
//
//	chunks/HH/HASH       an encoded chunk, named by the SHA-256 of its bytes
//	models/NAME          a model's manifest (records, codecs, chunk names, checksums), written last
//	holds/NODE/NAME      a copy of the manifest of a model that NODE holds locally
//	leases/NODE-NONCE    an ingest or attach in progress, until it expires
//	locks/vacuum         VACUUM in progress, until it expires
type TierOptions struct {
	// URL is s3://bucket/prefix[?endpoint=...&region=...&path_style=true
	// &cache=SIZE&lease=DURATION]. The store remembers it.
	URL string
	// Bucket, when set, is used instead of connecting to URL (tests).
	Bucket objstore.Bucket
	// CacheBytes bounds the local cache of chunks. Default 1 GiB (URL
	// parameter cache=).
	CacheBytes int64
	// LeaseTTL is how long a lease or the VACUUM lock lives unless renewed.
	// Default 2 minutes (URL parameter lease=).
	LeaseTTL time.Duration
	// Uploads is how many chunk uploads run at once. Default 8.
	Uploads int
	// Policy is the retry policy of every request. Default
	// objstore.DefaultPolicy.
	Policy objstore.Policy
}

// tier is an open object-store tier.
type tier struct {
	bucket objstore.Bucket
	url    string // as given, remembered by the store
	name   string // s3://bucket/prefix, for messages
	node   string
	ttl    time.Duration
	upload int
	budget int64
	cache  *chunkCache
	// fetches coordinates fetches of the same chunk.
	fetches fetcher
	// background holds the prefetches, stopped at Close.
	background *background
}

const (
	objChunks   = "chunks/"
	objModels   = "models/"
	objHolds    = "holds/"
	objLeases   = "leases/"
	objVacuum   = "locks/vacuum"
	maxManifest = 256 << 20
	// minLease bounds lease=: shorter leases would expire between the
	// requests of one step.
	minLease = time.Second
)

func chunkObject(hash string) string { return objChunks + hash[:2] + "/" + hash }
func modelObject(name string) string { return objModels + url.PathEscape(name) }
func (t *tier) holdObject(name string) string {
	return objHolds + t.node + "/" + url.PathEscape(name)
}

// chunkHash names an encoded chunk.
func chunkHash(enc []byte) string {
	h := sha256.Sum256(enc)
	return hex.EncodeToString(h[:])
}

// TierName is the bucket and prefix of an object store address, without
// its parameters (for messages and comparisons).
func TierName(u string) string {
	c, err := objstore.ParseURL(u)
	if err != nil {
		return u
	}
	return c.String()
}

// SameTier reports whether two addresses name the same bucket and prefix.
func SameTier(a, b string) bool { return TierName(a) == TierName(b) }

func keyTier() []byte { return []byte{prefixSeq, 't', 'i', 'e', 'r'} }
func keyNode() []byte { return []byte{prefixSeq, 'n', 'o', 'd', 'e'} }

// openTier connects the store to its object store: the one in o, else the
// one the store remembers. A store keeps one object store for life.
func (s *Store) openTier(o *TierOptions) error {
	remembered, _, err := s.getRaw(keyTier())
	if err != nil {
		return err
	}
	switch {
	case o == nil && remembered == nil:
		return nil
	case o == nil:
		o = &TierOptions{URL: string(remembered)}
	case remembered != nil && !SameTier(string(remembered), o.URL):
		return fmt.Errorf("vsdb: store %s keeps its chunks in %s, not %s", s.dir, TierName(string(remembered)), TierName(o.URL))
	}
	t, err := newTier(*o)
	if err != nil {
		return err
	}
	node, err := s.nodeID()
	if err != nil {
		return err
	}
	t.node = node
	if remembered == nil || string(remembered) != o.URL {
		if err := s.db.Set(keyTier(), []byte(o.URL), pebble.Sync); err != nil {
			return fmt.Errorf("vsdb: remembering the object store: %w", err)
		}
	}
	if t.cache, err = openChunkCache(s.db, t.budget); err != nil {
		return err
	}
	s.tier = t
	return nil
}

// newTier parses the address and connects (lazily: no request is made).
func newTier(o TierOptions) (*tier, error) {
	c, err := objstore.ParseURL(o.URL)
	if err != nil {
		return nil, err
	}
	if err := applyTierParams(&o, c.Options); err != nil {
		return nil, err
	}
	if o.Policy.Attempts == 0 {
		o.Policy = objstore.DefaultPolicy
	}
	b := o.Bucket
	if b == nil {
		s3, err := objstore.Open(c)
		if err != nil {
			return nil, err
		}
		b = s3
	}
	return &tier{bucket: objstore.Retry(b, o.Policy), url: o.URL, name: c.String(), ttl: o.LeaseTTL, upload: o.Uploads, budget: o.CacheBytes, background: newBackground()}, nil
}

// applyTierParams reads cache= and lease= and fills the defaults.
func applyTierParams(o *TierOptions, q url.Values) error {
	for k, v := range q {
		switch k {
		case "cache":
			n, err := parseBytes(v[0])
			if err != nil {
				return fmt.Errorf("vsdb: cache=%q in %s: %v", v[0], TierName(o.URL), err)
			}
			o.CacheBytes = n
		case "lease":
			d, err := time.ParseDuration(v[0])
			if err != nil || d <= 0 {
				return fmt.Errorf("vsdb: lease=%q in %s: expected a duration such as 2m", v[0], TierName(o.URL))
			}
			if d < minLease {
				return fmt.Errorf("vsdb: lease=%q in %s: at least %s (leases are renewed every third of it, over the network)", v[0], TierName(o.URL), minLease)
			}
			o.LeaseTTL = d
		default:
			return fmt.Errorf("vsdb: unknown parameter %q in %s (known: endpoint, region, path_style, cache, lease)", k, TierName(o.URL))
		}
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = 1 << 30
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 2 * time.Minute
	}
	if o.LeaseTTL < minLease {
		return fmt.Errorf("vsdb: a lease of %s is too short for %s: at least %s", o.LeaseTTL, TierName(o.URL), minLease)
	}
	if o.Uploads <= 0 {
		o.Uploads = 8
	}
	return nil
}

// parseBytes reads a cache size: 512MiB, 2GiB, 100MB or a plain number of
// bytes, from 1 MiB to 1 PiB.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	num, mult := s, 1.0
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseFloat(num, 64)
	v := n * mult
	// Written so that NaN fails too.
	if err != nil || !(v >= 1<<20 && v <= 1<<50) {
		return 0, fmt.Errorf("expected a size from 1MiB to 1PiB, such as 2GiB")
	}
	return int64(v), nil
}

// nodeID is this store's name among the nodes sharing a bucket, made at
// random the first time.
func (s *Store) nodeID() (string, error) {
	v, ok, err := s.getRaw(keyNode())
	if err != nil || ok {
		return string(v), err
	}
	var b [8]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if err := s.db.Set(keyNode(), []byte(id), pebble.Sync); err != nil {
		return "", fmt.Errorf("vsdb: naming this node: %w", err)
	}
	return id, nil
}

// getRaw reads a key from the live database (not a snapshot).
func (s *Store) getRaw(key []byte) ([]byte, bool, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, readErr(err)
	}
	out := append([]byte(nil), v...)
	return out, true, closer.Close()
}

// TierURL is the store's object store address ("" when chunks are local).
func (s *Store) TierURL() string {
	if s.tier == nil {
		return ""
	}
	return s.tier.url
}

// Node is this store's node id in the shared bucket ("" without a tier).
func (s *Store) Node() string {
	if s.tier == nil {
		return ""
	}
	return s.tier.node
}

// needTier refuses statements that need an object store on a local store.
func (s *Store) needTier(what string) (*tier, error) {
	if s.tier == nil {
		return nil, fmt.Errorf("vsdb: %s needs an object store; open the store with --store s3://bucket/prefix", what)
	}
	return s.tier, nil
}

// ErrObjectStore matches (errors.Is) the errors of requests to the object
// store that failed: down, unreachable, refused, or given up on.
var ErrObjectStore = errors.New("vsdb: object store request failed")

type remoteError struct {
	msg   string
	cause error
}

func (e remoteError) Error() string        { return e.msg }
func (e remoteError) Is(target error) bool { return target == ErrObjectStore }
func (e remoteError) Unwrap() error        { return e.cause }

// remoteErr names the object store in an error from a request.
func (t *tier) remoteErr(what string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("vsdb: %s cancelled", what)
	}
	return remoteError{fmt.Sprintf("vsdb: %s in %s: %v", what, t.name, err), err}
}

// ctx bounds one operation against the bucket when the caller has none.
func (t *tier) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Minute)
}
