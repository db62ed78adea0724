package safetensors

import (
	"os"

	"github.com/vsdb/vsdb/format/internal/ckpt"
)

// Sharded is a checkpoint split over several safetensors files and
// described by an index ({"metadata": {...}, "weight_map": {tensor: shard}}).
// It implements format.Source: Entries lists every tensor, shard by shard
// (shards in file-name order), each shard in offset order.
type Sharded = ckpt.Sharded

// OpenIndex opens a *.safetensors.index.json file and every shard it names.
// Shard paths are relative to the index's folder and may not leave it
// (".." components, absolute paths and symbolic links that point outside
// are refused). Every tensor of weight_map must be in its shard, and every
// tensor of every shard must be listed for that shard.
func OpenIndex(indexPath string) (*Sharded, error) {
	return ckpt.OpenIndex(indexPath, func(f *os.File, path string) (ckpt.Source, error) {
		s, err := openFile(f, path)
		if err != nil {
			return nil, err
		}
		return s, nil
	})
}
