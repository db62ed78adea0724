package query

import "strings"

// Keywords of the language, upper case. Keywords are not reserved: a model
// may be called "weights" because the grammar never expects a model name
// where a keyword could appear. (NOT cannot be a WHERE field, but no field
// is called that.)
var (
	statementKeywords = []string{"FUSE", "SHOW", "GET", "DESCRIBE", "STATS", "DIFF", "DELETE", "CHECK", "INGEST", "EXPORT", "COMPRESS", "ATTACH", "DETACH", "VACUUM", "EXPLAIN"}
	allKeywords       = []string{
		"FUSE", "WEIGHTS", "USING", "TRUE", "FALSE", "BASE", "INTO",
		"SHOW", "MODELS", "LAYERS", "OF", "TENSORS", "FROM",
		"WHERE", "OR", "AND", "NOT", "LIKE",
		"GET", "DESCRIBE", "STATS", "DIFF", "DELETE", "MODEL", "CHECK",
		"INGEST", "AS", "CODEC", "EXPORT", "TO", "COMPRESS",
		"ATTACH", "ALL", "DETACH", "VACUUM",
		"EXPLAIN", "ANALYZE",
	}
)

// isKeyword reports whether word is one of keywords, ignoring case.
func isKeyword(word string, keywords ...string) bool {
	for _, k := range keywords {
		if strings.EqualFold(word, k) {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to word (ignoring case) if it is a
// plausible misspelling, or "". Plausible means at most one edit for words
// up to five letters and two edits for longer ones, where swapping two
// adjacent letters counts as one edit.
func suggest(word string, candidates []string) string {
	limit := 1
	if len(word) > 5 {
		limit = 2
	}
	best, bestDist := "", limit+1
	upper := strings.ToUpper(word)
	for _, c := range candidates {
		if d := editDistance(upper, strings.ToUpper(c)); d < bestDist && d > 0 {
			best, bestDist = c, d
		}
	}
	return best
}

// suggestUnique is suggest, except that it returns "" when two candidates
// are equally close: XB is as close to KB as to MB.
func suggestUnique(word string, candidates []string) string {
	best := suggest(word, candidates)
	if best == "" {
		return ""
	}
	d := editDistance(strings.ToUpper(word), strings.ToUpper(best))
	for _, c := range candidates {
		if c != best && editDistance(strings.ToUpper(word), strings.ToUpper(c)) == d {
			return ""
		}
	}
	return best
}

// editDistance is the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and adjacent transpositions each
// cost one. It works on bytes; keywords are ASCII.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30 // far from any keyword; avoids quadratic work on huge tokens
	}
	// d[i][j] is the distance between a[:i] and b[:j].
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// Keywords returns every keyword of the language, upper case (for a
// shell's completion).
func Keywords() []string { return append([]string(nil), allKeywords...) }
