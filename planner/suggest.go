package planner

import "strings"

// nearest returns the candidate closest to name by edit distance, or ""
// when none is close enough to be a plausible typo (distance at most a
// third of the name, and at least 2).
func nearest(name string, candidates []string) string {
	best, bestD := "", min(max(2, len(name)/3)+1, len(name))
	for _, c := range candidates {
		if d := editDistance(name, c, bestD); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// digitsOnly reports whether a and b differ only in their digits, as a
// layer number out of range does: a list of layers helps more than a guess.
func digitsOnly(a, b string) bool {
	strip := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return -1
			}
			return r
		}, s)
	}
	return a != b && strip(a) == strip(b)
}

// didYouMean formats a suggestion as " (did you mean X?)", or "".
func didYouMean(name string, candidates []string) string {
	if s := nearest(name, candidates); s != "" {
		return " (did you mean " + s + "?)"
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, giving up
// (returning limit) once it must reach limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// names lists distinct strings in order of first appearance.
func names(items []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range items {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// quoteList formats a few names for a message.
func quoteList(items []string, most int) string {
	if len(items) > most {
		items = append(items[:most:most], "...")
	}
	return strings.Join(items, ", ")
}
