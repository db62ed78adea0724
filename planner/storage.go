package planner

import (
	"context"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/vsdb/vsdb/tensor"
)

// ModelInfo is what the planner knows of a stored model.
type ModelInfo struct {
	Name        string
	Tensors     int
	RawBytes    int64
	StoredBytes int64
	Source      string
	Created     string
	// Base is the model this one is stored as deltas against, if any.
	Base     string
	Metadata map[string]string
}

// TensorInfo is what the planner knows of a stored tensor.
type TensorInfo struct {
	ID          uint32
	Model       string
	Name        string
	Layer       string
	Param       string
	DType       tensor.DType
	Shape       tensor.Shape
	Codec       string
	RawBytes    int64
	StoredBytes int64
	// Reads is how often the tensor has been read; Tier is its access tier
	// (hot, warm or cold) as of the last refresh of the access index.
	Reads uint64
	Tier  string
	// RelError is the relative Frobenius error of a lossy codec (0 when
	// stored losslessly).
	RelError float64
	// CachedBytes is how much of the tensor's decoded chunks sit in the
	// engine's cache of hot tensors (read without touching storage).
	CachedBytes int64
	// Rank is the rank of a tensor stored in low rank (codec "lowrank").
	Rank int
	// Delta is "" for a tensor stored whole, else how it is stored against
	// the tensor DeltaBase ("sub": reads add the base; "xor").
	Delta     string
	DeltaBase uint32
}

// storedRead is what reading t costs in stored bytes, net of the cache.
func (t TensorInfo) storedRead() int64 {
	if t.RawBytes == 0 || t.CachedBytes == 0 {
		return t.StoredBytes
	}
	return t.StoredBytes - t.StoredBytes*min(t.CachedBytes, t.RawBytes)/t.RawBytes
}

// Ref is "model:name", the way statements and messages name a tensor.
func (t TensorInfo) Ref() string { return t.Model + ":" + t.Name }

// Catalog answers questions about what is stored, from one snapshot.
type Catalog interface {
	Models() ([]ModelInfo, error)
	Model(name string) (ModelInfo, bool, error)
	// Tensors lists a model's tensors in their original order.
	Tensors(model string) ([]TensorInfo, error)
	// Tensor looks one tensor up by name (ok false when the model has no
	// tensor of that name), without listing the model.
	Tensor(model, name string) (TensorInfo, bool, error)
	// Index returns the bitmap of tensor ids whose kind ("model", "layer",
	// "param", "dtype", "codec") equals value.
	Index(kind, value string) (*roaring.Bitmap, error)
	// TensorsByID returns the tensors with the given ids, in id order.
	TensorsByID(ids *roaring.Bitmap) ([]TensorInfo, error)
	// ChunkBytes is the raw size of one stored chunk.
	ChunkBytes() int64
	// ReadsAbove returns, among candidates, the tensors read more than n
	// times (from the bit-sliced index of read counts).
	ReadsAbove(n uint64, candidates *roaring.Bitmap) (*roaring.Bitmap, error)
	// AllTensors returns the ids of every stored tensor.
	AllTensors() (*roaring.Bitmap, error)
}

// TensorReader reads one stored tensor's values.
type TensorReader interface {
	// ReadFloat32 fills dst with elements [off, off+len(dst)) widened to float32.
	ReadFloat32(off int64, dst []float32) error
	// ReadRaw fills dst with raw bytes [off, off+len(dst)).
	ReadRaw(off int64, dst []byte) error
	Close() error
}

// OutTensor declares one tensor of a model being written.
type OutTensor struct {
	Name  string
	DType tensor.DType
	Shape tensor.Shape
}

// ModelWriter writes a new model, tensor by tensor, in declaration order.
// Nothing is visible until Commit; Abort discards everything.
type ModelWriter interface {
	// Write appends raw bytes to tensor i. Tensors are written in order.
	// Write must not keep raw after it returns.
	Write(i int, raw []byte) error
	Commit(ctx context.Context) error
	Abort() error
}

// Storage is everything execution needs.
type Storage interface {
	Catalog
	Open(t TensorInfo) (TensorReader, error)
	Create(model string, source string, tensors []OutTensor) (ModelWriter, error)
	// DeleteModel removes a model and all it stored.
	DeleteModel(model string) error
	// Check verifies indexes and checksums ("" = every model), one line per
	// problem.
	Check(model string) ([]string, error)
	// Ingest stores a checkpoint file as a new model.
	Ingest(ctx context.Context, path string, o LoadOptions) (ModelInfo, error)
	// Export writes a model to a safetensors file, or a folder of shards.
	Export(ctx context.Context, model, path string, o ExportOptions) error
	// Compress stores a model again under a new name with o's codec/base.
	Compress(ctx context.Context, model string, o LoadOptions) (ModelInfo, error)
	// Attach builds the local catalog of model from its manifest in the
	// object store ("" attaches every model this node lacks); from, when
	// not "", must name the store's bucket and prefix. It returns the
	// names attached, a delta model's base before the model.
	Attach(ctx context.Context, model, from string) ([]string, error)
	// Detach forgets a model on this node; the object store keeps it.
	Detach(ctx context.Context, model string) error
	// Vacuum removes the object store's chunks that nothing references.
	Vacuum(ctx context.Context) (VacuumReport, error)
	// Tier describes the object-store tier; ok is false for a store that
	// keeps its chunks locally.
	Tier() (TierInfo, bool, error)
}

// VacuumReport says what VACUUM found and removed: the manifests and holds
// read (Roots), the chunk objects listed (Chunks), those no root
// references and now removed (Deleted) and their size (FreedBytes).
type VacuumReport struct {
	Roots, Chunks, Deleted int
	FreedBytes             int64
}

// TierInfo describes the store's object-store tier as this node sees it.
type TierInfo struct {
	// URL is the bucket and prefix, e.g. s3://models/zoo.
	URL string
	// RemoteModels counts local models whose chunks live in the bucket.
	RemoteModels int
	// ChunkRefs counts those models' chunk references, DistinctChunks the
	// distinct chunk objects they name; DedupRatio is LogicalBytes /
	// UniqueBytes.
	ChunkRefs, DistinctChunks int64
	LogicalBytes, UniqueBytes int64
	DedupRatio                float64
	// Cache* describe the local cache of chunks fetched from the bucket.
	CacheBytes, CacheBudget int64
	CacheEntries            int
	CacheHits, CacheMisses  int64
}

// ExportOptions are EXPORT's options: ShardSize > 0 writes a folder of
// shards of at most that many bytes; DType ("F32", "F16", "BF16") casts
// float tensors.
type ExportOptions struct {
	ShardSize int64
	DType     string
}

// LoadOptions say how INGEST and COMPRESS store a model.
type LoadOptions struct {
	Name   string
	Base   string
	Codec  string
	Budget float64
	Rank   int
}
