// Package codec holds vsdb's tensor encodings and checksums.
//
// A codec turns the raw little-endian bytes of one chunk of a tensor into
// stored bytes and back. Every codec in this package is lossless: Decode
// returns the exact bytes given to Encode. Each encoding's byte layout is
// drawn in the doc comment of its type and starts with a version byte so it
// can evolve. The package imports no other vsdb package.
package codec

import (
	"fmt"
	"hash/crc32"
	"sort"
	"strings"
)

// Codec encodes and decodes one chunk of a tensor.
type Codec interface {
	// Name is the codec's name as users write it (CODEC raw).
	Name() string
	// Encode appends the encoding of raw to dst. elemSize is the byte width
	// of one element (1, 2, 4 or 8); len(raw) is a multiple of it.
	Encode(dst, raw []byte, elemSize int) ([]byte, error)
	// Decode decodes enc into raw, whose length is the exact decoded length.
	// It refuses any input that does not decode to exactly len(raw) bytes.
	Decode(raw, enc []byte, elemSize int) error
}

var registry = map[string]Codec{}

func register(c Codec) { registry[c.Name()] = c }

// ByName returns the codec called name.
func ByName(name string) (Codec, error) {
	if c, ok := registry[strings.ToLower(name)]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("vsdb: unknown codec %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the registered codecs in alphabetical order.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC-32C of b, the checksum vsdb keeps for every stored
// chunk and every tensor's raw bytes.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// UpdateChecksum extends a running CRC-32C with b.
func UpdateChecksum(crc uint32, b []byte) uint32 { return crc32.Update(crc, castagnoli, b) }
