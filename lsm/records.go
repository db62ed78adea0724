package lsm

import (
	"encoding/json"
	"fmt"
)

// ModelRecord describes one committed model.
type ModelRecord struct {
	ID       uint32            `json:"id"`
	Name     string            `json:"name"`
	Source   string            `json:"source,omitempty"`
	Tensors  int               `json:"tensors"`
	RawBytes int64             `json:"raw_bytes"`
	Stored   int64             `json:"stored_bytes"`
	Created  string            `json:"created"`
	Metadata map[string]string `json:"metadata,omitempty"`
	// Base is the model this one stores deltas against ("" if none).
	Base string `json:"base,omitempty"`
	// FirstTensor and EndTensor bound the tensor ids [first, end) the model owns.
	FirstTensor uint32 `json:"first_tensor"`
	EndTensor   uint32 `json:"end_tensor"`
}

// TensorRecord describes one stored tensor: where its chunks are, how they
// are encoded and how to check them.
type TensorRecord struct {
	ID         uint32   `json:"id"`
	Model      uint32   `json:"model"`
	Name       string   `json:"name"`
	Layer      string   `json:"layer"`
	Param      string   `json:"param"`
	DType      string   `json:"dtype"`
	Shape      []int64  `json:"shape"`
	Codec      string   `json:"codec"`
	RawBytes   int64    `json:"raw_bytes"`
	Stored     int64    `json:"stored_bytes"`
	ChunkBytes int64    `json:"chunk_bytes"`
	ChunkCRCs  []uint32 `json:"chunk_crcs"`
	// RawCRC is the CRC-32C of the bytes a read returns: the original
	// bytes for lossless codecs, the decoded ones for lossy codecs. Low-rank
	// tensors have none (0): their decoded values are a matrix product
	// whose last bits depend on the CPU's kernel (with or without FMA), so
	// only the stored chunk's checksum is kept.
	RawCRC uint32 `json:"raw_crc"`
	// Rank is the rank of a low-rank tensor (0 for other codecs).
	Rank int `json:"rank,omitempty"`
	// RelError is the relative Frobenius error of a lossy codec,
	// ‖decoded − original‖/‖original‖, measured when the tensor was stored.
	RelError float64 `json:"rel_error,omitempty"`
	// Base, when set, is the id of the tensor this one is stored as a delta
	// against; Delta says how: DeltaXOR (bits XORed with the base's, for
	// byte codecs: exact) or DeltaSub (float difference, for float codecs).
	Base  *uint32 `json:"base,omitempty"`
	Delta string  `json:"delta,omitempty"`
	Order int     `json:"order"`
}

// Chunks is the number of chunks the tensor is stored in.
func (t *TensorRecord) Chunks() int { return len(t.ChunkCRCs) }

// ChunkRaw returns the raw (decoded) length of chunk i.
func (t *TensorRecord) ChunkRaw(i int) int64 {
	start := int64(i) * t.ChunkBytes
	return min(t.ChunkBytes, t.RawBytes-start)
}

type seqRecord struct {
	NextModel  uint32 `json:"next_model"`
	NextTensor uint32 `json:"next_tensor"`
}

type pendingRecord struct {
	FirstTensor uint32 `json:"first_tensor"`
	EndTensor   uint32 `json:"end_tensor"`
}

func decodeJSON(what string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("vsdb: corrupt %s record: %v", what, err)
	}
	return nil
}
