package pytorch

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A pytorch_model.bin.index.json with two shards reads as one checkpoint,
// shard by shard; a shard the index does not describe is refused.
func TestIndex(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	one := tspec{"a", "FloatStorage", "0", 4, 0, []int64{2, 2}, []int64{2, 1}}
	two := tspec{"b", "FloatStorage", "0", 3, 0, []int64{3}, []int64{1}}
	write("pytorch_model-00001-of-00002.bin", ckptZip(t, stateDict(one), arange(4)))
	write("pytorch_model-00002-of-00002.bin", ckptZip(t, stateDict(two), f32s(7, 8, 9)))
	index := filepath.Join(dir, "pytorch_model.bin.index.json")
	write("pytorch_model.bin.index.json", []byte(`{"metadata":{"total_size":28},"weight_map":{
		"a":"pytorch_model-00001-of-00002.bin","b":"pytorch_model-00002-of-00002.bin"}}`))
	s, err := OpenIndex(index)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	es := s.Entries()
	if len(es) != 2 || es[0].Name != "a" || es[1].Name != "b" {
		t.Fatalf("entries %v", es)
	}
	for i, want := range [][]byte{arange(4), f32s(7, 8, 9)} {
		rc, err := s.Open(i)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := got.ReadFrom(rc); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: %v, want %v", es[i].Name, got.Bytes(), want)
		}
	}
	if s.Metadata()["total_size"] != "28" {
		t.Errorf("metadata %v", s.Metadata())
	}

	write("pytorch_model.bin.index.json", []byte(`{"weight_map":{"a":"pytorch_model-00001-of-00002.bin","b":"pytorch_model-00001-of-00002.bin"}}`))
	_, err = OpenIndex(index)
	if err == nil || !strings.Contains(err.Error(), `tensor "b" is listed in weight_map for shard pytorch_model-00001-of-00002.bin`) {
		t.Errorf("wrong shard: %v", err)
	}
	write("pytorch_model-00002-of-00002.bin", []byte("\x80\x02cos\nsystem\n."))
	write("pytorch_model.bin.index.json", []byte(`{"weight_map":{"a":"pytorch_model-00001-of-00002.bin","b":"pytorch_model-00002-of-00002.bin"}}`))
	_, err = OpenIndex(index)
	if err == nil || !strings.Contains(err.Error(), "pytorch_model-00002-of-00002.bin: ") || !strings.Contains(err.Error(), "os.system") {
		t.Errorf("malicious shard: %v", err)
	}
}
