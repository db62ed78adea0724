package ckpt

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestSniff(t *testing.T) {
	st := append([]byte{2, 0, 0, 0, 0, 0, 0, 0}, "{}"...)
	big := append([]byte{0x80, 0x02, 0, 0, 0, 0, 0, 0}, "{}"...) // header length 640 > size: a pickle
	fits := append([]byte{0x80, 0x02, 0, 0, 0, 0, 0, 0}, make([]byte, 640)...)
	fits[8] = '{' // header length 640 fits: safetensors
	for _, tc := range []struct {
		head []byte
		size int64
		want Kind
	}{
		{nil, 0, Empty},
		{[]byte("version https://git-lfs.github.com/spec/v1\n"), 50, LFSPointer},
		{[]byte("\x93NUMPY\x01\x00"), 100, NPY},
		{[]byte("GGUF\x03\x00\x00\x00{"), 100, GGUF},
		{[]byte("PK\x03\x04\x14\x00\x00\x00{"), 100, Zip},
		{[]byte("PK\x05\x06"), 22, Zip},
		{st, 10, Safetensors},
		{big, 10, Pickle},
		{fits[:SniffLen], int64(len(fits)), Safetensors},
		{[]byte("\x80\x02}q\x00"), 5, Pickle},
		{[]byte("\x80\x00"), 2, Unknown},
		{[]byte("hello"), 5, Unknown},
	} {
		if got := Sniff(tc.head, tc.size); got != tc.want {
			t.Errorf("Sniff(%q, %d) = %d, want %d", tc.head, tc.size, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	if got := P("a/b c.safetensors"); got != "a/b c.safetensors" {
		t.Errorf("P = %s", got)
	}
	if got := P("a\nb"); got != `"a\nb"` {
		t.Errorf("P = %s", got)
	}
	base := errors.New("vsdb: inner: boom\nsecond line")
	err := Wrap(base, "f.bin", "tensor %q", "x")
	if err.Error() != `vsdb: f.bin: tensor "x": inner: boom second line` || !errors.Is(err, base) {
		t.Errorf("Wrap = %q", err)
	}
}

func TestTensorReader(t *testing.T) {
	data := []byte("0123456789")
	r := NewTensorReader(bytes.NewReader(data), 2, 5, "f", "t")
	b, err := io.ReadAll(r)
	if err != nil || string(b) != "23456" {
		t.Errorf("got %q, %v", b, err)
	}
	r = NewTensorReader(bytes.NewReader(data), 8, 5, "f", "t")
	b, err = io.ReadAll(r)
	if string(b) != "89" || !errors.Is(err, io.ErrUnexpectedEOF) || err.Error() != `vsdb: f: tensor "t": 3 bytes missing (file truncated?): unexpected EOF` {
		t.Errorf("got %q, %v", b, err)
	}
}
