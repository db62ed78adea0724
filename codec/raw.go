package codec

import "fmt"

// Raw stores the bytes as they are. Layout: the raw bytes, nothing else.
type Raw struct{}

func init() { register(Raw{}) }

// Name implements Codec.
func (Raw) Name() string { return "raw" }

// Encode implements Codec.
func (Raw) Encode(dst, raw []byte, _ int) ([]byte, error) { return append(dst, raw...), nil }

// Decode implements Codec.
func (Raw) Decode(raw, enc []byte, _ int) error {
	if len(enc) != len(raw) {
		return fmt.Errorf("vsdb: raw chunk holds %d bytes, want %d", len(enc), len(raw))
	}
	copy(raw, enc)
	return nil
}
