package lsm

import "encoding/binary"

// Key prefixes; see the package doc.
const (
	prefixSeq     = 's'
	prefixModel   = 'm'
	prefixName    = 'n'
	prefixTensor  = 't'
	prefixChunk   = 'c'
	prefixIndex   = 'x'
	prefixPending = 'p'
	prefixReads   = 'r'
)

func u32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

func keySeq() []byte { return []byte{prefixSeq, 's', 'e', 'q'} }

// KeyModel is the key of a committed model's record.
func KeyModel(name string) []byte { return append([]byte{prefixModel}, name...) }

// KeyName maps (model, tensor name) to the tensor id.
func KeyName(model uint32, name string) []byte {
	return append(u32([]byte{prefixName}, model), name...)
}

// KeyTensor is the key of a tensor's record.
func KeyTensor(id uint32) []byte { return u32([]byte{prefixTensor}, id) }

// KeyChunk is the key of chunk idx of tensor id.
func KeyChunk(id, idx uint32) []byte { return u32(u32([]byte{prefixChunk}, id), idx) }

// KeyIndex is the key of the bitmap of tensors whose kind has value.
func KeyIndex(kind, value string) []byte {
	k := append([]byte{prefixIndex}, kind...)
	k = append(k, 0)
	return append(k, value...)
}

func keyPending(model uint32) []byte { return u32([]byte{prefixPending}, model) }

// KeyReads is the key of a tensor's access counter.
func KeyReads(id uint32) []byte { return u32([]byte{prefixReads}, id) }

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte{}, p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
