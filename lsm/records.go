package lsm

import (
	"encoding/binary"
	"encoding/json"
	"strings"

	"fmt"
	"github.com/vsdb/vsdb/codec"
	"github.com/vsdb/vsdb/tensor"
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
	// Remote is set when the model's chunks live in the object store.
	Remote bool `json:"remote,omitempty"`
	// RemoteID tells this model from another published later under the
	// same name: made at ingest, carried by the manifest and by every
	// node that attaches it.
	RemoteID string `json:"remote_id,omitempty"`
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
	// Hashes, for a tensor whose chunks live in an object store, names
	// each chunk's object: the hex SHA-256 of its encoded bytes.
	Hashes []string `json:"chunk_hashes,omitempty"`
}

// Remote reports whether the tensor's chunks live in an object store.
func (t *TensorRecord) Remote() bool { return len(t.Hashes) > 0 }

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

// Records (models, tensors, the id sequence, pending ingests) are stored
// sealed, so that a flipped byte is found before the record is believed:
//
//	+------+----------------------+----------------+
//	| 0x01 | CRC-32C of the JSON  | JSON document  |
//	| 1 B  | 4 B, little-endian   | rest           |
//	+------+----------------------+----------------+
//
// Records written before sealing existed (a bare JSON object, first byte
// '{') are still read; their fields are checked by validate.
const recordSealed = 0x01

// sealRecord encodes v as a sealed record. what names the record in the
// error (which a value JSON cannot hold would cause).
func sealRecord(what string, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("vsdb: encoding the record of %s: %v", what, err)
	}
	out := make([]byte, 5, 5+len(body))
	out[0] = recordSealed
	binary.LittleEndian.PutUint32(out[1:], codec.Checksum(body))
	return append(out, body...), nil
}

// openRecord returns the JSON of a sealed (or older, bare) record.
func openRecord(b []byte) ([]byte, error) {
	switch {
	case len(b) > 0 && b[0] == '{':
		return b, nil
	case len(b) >= 5 && b[0] == recordSealed:
		body := b[5:]
		if codec.Checksum(body) != binary.LittleEndian.Uint32(b[1:]) {
			return nil, fmt.Errorf("fails its checksum")
		}
		return body, nil
	case len(b) == 0:
		return nil, fmt.Errorf("empty")
	}
	return nil, fmt.Errorf("unknown record version %#x", b[0])
}

func decodeJSON(what string, b []byte, v any) error {
	body, err := openRecord(b)
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		return fmt.Errorf("vsdb: corrupt %s record: %v", what, err)
	}
	return nil
}

// validate checks what a tensor record says against itself, so that a
// damaged record (older, unsealed ones carry no checksum) is refused
// rather than read: a record that passes describes chunks a reader can
// walk without dividing by zero or reading past its buffers.
func (t *TensorRecord) validate(id uint32) error {
	dt, err := tensor.ParseDType(t.DType)
	var bytes int64
	if err == nil {
		bytes, err = tensor.Shape(t.Shape).Bytes(dt)
	}
	switch {
	case t.ID != id:
		err = fmt.Errorf("holds id %d", t.ID)
	case err != nil:
	case bytes != t.RawBytes:
		err = fmt.Errorf("shape %v of %s is %d bytes, the record says %d", t.Shape, t.DType, bytes, t.RawBytes)
	case t.ChunkBytes <= 0:
		err = fmt.Errorf("chunk size %d", t.ChunkBytes)
	case int64(len(t.ChunkCRCs)) != (t.RawBytes+t.ChunkBytes-1)/t.ChunkBytes:
		err = fmt.Errorf("%d chunks of %d bytes do not hold %d bytes", len(t.ChunkCRCs), t.ChunkBytes, t.RawBytes)
	case !KnownCodec(t.Codec):
		err = fmt.Errorf("unknown codec %q", t.Codec)
	case (t.Base == nil) != (t.Delta == ""), t.Delta != "" && t.Delta != DeltaXOR && t.Delta != DeltaSub:
		err = fmt.Errorf("base and delta kind %q disagree", t.Delta)
	case len(t.Hashes) > 0 && len(t.Hashes) != len(t.ChunkCRCs):
		err = fmt.Errorf("%d chunk names for %d chunks", len(t.Hashes), len(t.ChunkCRCs))
	case t.Codec == LowRank && (len(t.ChunkCRCs) != 1 || t.Rank <= 0):
		err = fmt.Errorf("low-rank tensor with %d chunks, rank %d", len(t.ChunkCRCs), t.Rank)
	}
	if err != nil {
		return fmt.Errorf("vsdb: corrupt record of tensor %d (%q): %v", id, t.Name, strings.TrimPrefix(err.Error(), "vsdb: "))
	}
	return nil
}
