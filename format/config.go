package format

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"

	"github.com/vsdb/vsdb/format/internal/ckpt"
)

// ConfigKey is the metadata key under which a model folder's config.json
// (Hugging Face layout) is kept, as its text: an export to a folder writes
// it back, so the exported model loads the same way (tie_word_embeddings
// included).
const ConfigKey = "config.json"

// maxConfig bounds a config.json (they are a few KiB).
const maxConfig = 1 << 20

// withConfig adds the folder's config.json, if there is one, to src's
// metadata. A config.json that is too large or not a JSON object is an
// error: the folder would not load elsewhere either.
func withConfig(src Source, dir string) (Source, error) {
	path := filepath.Join(dir, "config.json")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return src, nil
	}
	if err != nil {
		src.Close()
		return nil, ckpt.OSError(err, path, "cannot open")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfig+1))
	if err == nil && len(b) > maxConfig {
		err = errors.New("larger than 1 MiB")
	}
	var obj map[string]any
	if err == nil {
		if jerr := json.Unmarshal(b, &obj); jerr != nil {
			err = errors.New("not a JSON object: " + jerr.Error())
		}
	}
	if err != nil {
		src.Close()
		return nil, ckpt.Errorf(path, "%v", err)
	}
	return &configSource{Source: src, config: string(b)}, nil
}

type configSource struct {
	Source
	config string
}

func (c *configSource) Metadata() map[string]string {
	m := maps.Clone(c.Source.Metadata())
	if m == nil {
		m = map[string]string{}
	}
	m[ConfigKey] = c.config
	return m
}
