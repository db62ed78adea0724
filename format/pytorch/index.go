package pytorch

import (
	"os"

	"github.com/vsdb/vsdb/format/internal/ckpt"
)

// Sharded is a PyTorch checkpoint split over several files and described
// by an index, as Hugging Face writes pytorch_model.bin.index.json.
type Sharded = ckpt.Sharded

// OpenIndex opens a pytorch_model.bin.index.json (or any *.bin/.pt/.pth
// index) and every shard it names. Shard paths are relative to the
// index's folder and may not leave it; every tensor of weight_map must be
// in its shard, and every tensor of every shard must be listed for that
// shard.
func OpenIndex(indexPath string) (*Sharded, error) {
	return ckpt.OpenIndex(indexPath, func(f *os.File, path string) (ckpt.Source, error) {
		pf, err := openFile(f, path)
		if err != nil {
			return nil, err
		}
		return pf, nil
	})
}
