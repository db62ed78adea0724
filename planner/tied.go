package planner

import (
	"strings"

	"github.com/vsdb/vsdb/tensor"
)

// Tied embeddings. Many language models tie the output projection to the
// input embedding (config tie_word_embeddings): their checkpoints hold only
// the embedding, and the loader uses it for lm_head too. When a whole-model
// FUSE merges such a model with one that has its own lm_head, the tied
// model's lm_head is, by definition, its embedding. So: if any input has
// lm_head.weight, every input without one but with an embedding of the same
// shape takes part in the lm_head.weight group with that embedding, and the
// result has lm_head.weight (untied). When no input has lm_head.weight, the
// result has none and stays tied. EXPORT writes what is stored, and keeps
// the config, so a tied model loads the same way after a round trip.

// lmHead is the output projection's name in Hugging Face checkpoints.
const lmHead = "lm_head.weight"

// embeddingNames are the input embeddings' names that tie to lm_head, by
// suffix (model.embed_tokens.weight, transformer.wte.weight, ...).
var embeddingNames = []string{"embed_tokens.weight", "wte.weight", "word_embeddings.weight", "embed_in.weight"}

// untie adds, to every whole-model selection lacking lm_head.weight, its
// tied embedding under the key lm_head.weight when some other selection has
// lm_head.weight; it returns whether it changed anything.
func untie(sels []*selection) bool {
	var head *TensorInfo
	for _, s := range sels {
		if s.kind != "model" {
			return false
		}
		for j, k := range s.keys {
			if k == lmHead {
				head = &s.tensors[j]
			}
		}
	}
	if head == nil {
		return false
	}
	changed := false
	for _, s := range sels {
		if s.has(lmHead) {
			continue
		}
		for j, t := range s.tensors {
			if tiedEmbedding(t.Name) && t.Shape.Equal(head.Shape) {
				s.tensors = append(s.tensors, s.tensors[j])
				s.keys = append(s.keys, lmHead)
				changed = true
				break
			}
		}
	}
	return changed
}

func tiedEmbedding(name string) bool {
	for _, suffix := range embeddingNames {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

func (s *selection) has(key string) bool {
	for _, k := range s.keys {
		if k == key {
			return true
		}
	}
	return false
}

// tiedIn finds a model's tied embedding of the given shape (a base model
// without lm_head.weight).
func tiedIn(all []TensorInfo, shape tensor.Shape) (TensorInfo, bool) {
	for _, t := range all {
		if tiedEmbedding(t.Name) && t.Shape.Equal(shape) {
			return t, true
		}
	}
	return TensorInfo{}, false
}
