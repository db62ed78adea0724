package repl

import (
	"slices"
	"strings"
	"unicode"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/query"
)

// completer completes, at the cursor, a meta-command at the start of a
// line, a keyword, a model name, or after "model:" a layer or tensor name
// of that model, from the catalog as it is when TAB is pressed. It
// implements readline.AutoCompleter.
type completer struct {
	db *engine.DB
}

// Do returns the endings of the candidates for the word before pos and the
// length of that word.
func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	start := pos
	for start > 0 && !isWordBreak(line[start-1]) {
		start--
	}
	word := string(line[start:pos])
	var cands []string
	switch {
	case strings.HasPrefix(word, ".") && strings.TrimSpace(string(line[:start])) == "":
		cands = metaNames()
	case strings.Contains(word, ":"):
		model, _, _ := strings.Cut(word, ":")
		cands = c.names(model)
	default:
		cands = append(keywordsLike(word), c.models()...)
	}
	return endings(word, cands), len([]rune(word))
}

// isWordBreak reports whether r separates the words completion works on.
func isWordBreak(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(",;()=", r)
}

// keywordsLike returns the keywords in the case the word is typed in (a
// word with no upper-case letter gets lower-case keywords).
func keywordsLike(word string) []string {
	kws := query.Keywords()
	if word != "" && strings.ToLower(word) == word {
		for i, k := range kws {
			kws[i] = strings.ToLower(k)
		}
	}
	return kws
}

func (c completer) models() []string {
	ms, err := c.db.Models()
	if err != nil {
		return nil
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}

// names returns "model:layer" and "model:tensor" for every layer and
// tensor of model.
func (c completer) names(model string) []string {
	ts, err := c.db.Tensors(model)
	if err != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range ts {
		for _, n := range []string{t.Layer, t.Name} {
			if n != "" && !seen[n] {
				seen[n] = true
				out = append(out, model+":"+n)
			}
		}
	}
	return out
}

// endings returns what each candidate starting with word adds to it,
// sorted, without repeats.
func endings(word string, cands []string) [][]rune {
	var out []string
	for _, c := range cands {
		if len(c) > len(word) && strings.HasPrefix(c, word) {
			out = append(out, c[len(word):])
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	runes := make([][]rune, len(out))
	for i, s := range out {
		runes[i] = []rune(s)
	}
	return runes
}
