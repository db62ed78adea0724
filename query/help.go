package query

import (
	"regexp"
	"strings"
)

// StatementHelp is one form of a statement, described once: the shell's
// .help prints it, docs/QUERY.md's statement table is generated from it (a
// test keeps the two equal), and a syntax error in a statement shows the
// syntax of its forms under the caret.
type StatementHelp struct {
	// Keywords are the statement's leading keywords: "FUSE", "SHOW MODELS".
	Keywords string
	// Syntax is the form, brackets marking what may be left out.
	Syntax string
	// Meaning says what it does, in Markdown (code spans and links).
	Meaning string
	// Example is one statement that runs (given the models it names).
	Example string
}

var statementHelp = []StatementHelp{
	{"FUSE", "FUSE sel, sel[, ...] WEIGHTS w, w[, ...] [INTO model]",
		"Weighted sum of the selected tensors (or whole models), `w1*sel1 + w2*sel2 + …`; with `INTO model`, stored as a new model.",
		"FUSE a:encoder.layer.3, b:encoder.layer.3 WEIGHTS 0.5, 0.5"},
	{"FUSE", "FUSE sel, sel[, ...] [WEIGHTS w, w[, ...]] USING method [(key = value[, ...])] [BASE model] [WHERE expr] [INTO model]",
		"Merge with a named method (mergekit's `linear`, `task_arithmetic`, `ties`, `dare_linear`, `dare_ties`, `slerp`, `model_stock`, ...); see [FUSE methods in docs/QUERY.md](#fuse-methods-options-and-gradients).",
		"FUSE ft1, ft2 WEIGHTS 0.5, 0.5 USING ties (density = 0.5) BASE base INTO merged"},
	{"SHOW MODELS", "SHOW MODELS", "List models.", "SHOW MODELS"},
	{"SHOW LAYERS", "SHOW LAYERS [OF model]", "List layers, of one model or of all.", "SHOW LAYERS OF bert"},
	{"SHOW TENSORS", "SHOW TENSORS [FROM model] [WHERE expr]",
		"List tensors, of one model or of all, filtered by a [WHERE expression](#where-expressions).",
		"SHOW TENSORS FROM bert WHERE layer LIKE 'encoder.layer.%' AND size > 1MB"},
	{"GET", "GET model:tensor", "Fetch one tensor.", "GET bert:embeddings.word_embeddings.weight"},
	{"DESCRIBE", "DESCRIBE model", "Describe one model.", "DESCRIBE bert"},
	{"STATS", "STATS [model]", "Statistics of one model or of the whole store.", "STATS bert"},
	{"DIFF", "DIFF sel, sel", "Compare two tensors, layers or models (selectors as in `FUSE`).", "DIFF bert, bert_ft"},
	{"DELETE MODEL", "DELETE MODEL model", "Delete a model.", "DELETE MODEL bert_avg"},
	{"CHECK", "CHECK [model]", "Verify the stored data of one model or of the whole store.", "CHECK bert"},
	{"INGEST", "INGEST 'file' [AS model] [BASE model] [CODEC codec [(budget = e | rank = k)]]",
		"Store a checkpoint (safetensors, sharded index, model folder, PyTorch .bin/.pt, .npy, .npz, GGUF) as a new model; with `BASE`, as deltas against that model; `CODEC` is `lossless` (default), `raw`, `f16`, `bf16`, `q8`, `q4`, `lowrank(rank = k)` or `lowrank(budget = e)` (float matrices as truncated-SVD factors; see CODECS.md) or `auto` (the smallest codec within relative error `budget`, low rank included).",
		"INGEST 'ft.safetensors' AS ft BASE base CODEC auto (budget = 0.01)"},
	{"EXPORT", "EXPORT model TO 'file'",
		"Write a model as a safetensors file (atomically: a temporary file renamed into place).",
		"EXPORT merged TO 'merged.safetensors'"},
	{"COMPRESS", "COMPRESS model [BASE model] CODEC codec [(budget = e | rank = k)] INTO model",
		"Store a model again under a new name with another codec, or as deltas against a base.",
		"COMPRESS ft BASE base CODEC q8 INTO ft_q8"},
	{"ATTACH MODEL", "ATTACH MODEL model [FROM 's3://bucket/prefix']",
		"Build this node's catalog of a model from its manifest in the store's object store (a delta model brings its base); chunks stay in the bucket until read. Needs a store opened with `--store s3://bucket/prefix`; see [docs/SCALE.md](SCALE.md).",
		"ATTACH MODEL llama-ft FROM 's3://models/zoo'"},
	{"ATTACH ALL", "ATTACH ALL [FROM 's3://bucket/prefix']",
		"Attach every model of the object store that this node lacks.",
		"ATTACH ALL"},
	{"DETACH MODEL", "DETACH MODEL model",
		"Forget an attached model on this node and release its hold; the bucket keeps it.",
		"DETACH MODEL llama-ft"},
	{"VACUUM", "VACUUM",
		"Remove the object store's chunks that no manifest or hold references (refused while an ingest or attach runs).",
		"VACUUM"},
	{"EXPLAIN", "EXPLAIN [ANALYZE] statement",
		"Show the plan of any other statement instead of running it; with `ANALYZE`, run it and report what it did next to the plan. `EXPLAIN` does not nest.",
		"EXPLAIN FUSE a, b WEIGHTS 0.7, 0.3"},
}

// Statements returns the help of every statement form, in the order of
// docs/QUERY.md.
func Statements() []StatementHelp {
	return append([]StatementHelp(nil), statementHelp...)
}

// HelpFor returns the forms of the statement that words (what follows
// ".help", or a statement's first tokens) names: "fuse", "SHOW", "show
// tensors". The first word must be a statement keyword; later words narrow
// the choice where they match (SHOW TENSORS), and are ignored otherwise.
func HelpFor(words ...string) []StatementHelp {
	if len(words) == 0 {
		return nil
	}
	var out []StatementHelp
	for _, h := range statementHelp {
		kw := strings.Fields(h.Keywords)
		if strings.EqualFold(kw[0], words[0]) {
			out = append(out, h)
		}
	}
	if len(words) > 1 {
		var narrow []StatementHelp
		for _, h := range out {
			if kw := strings.Fields(h.Keywords); len(kw) > 1 && strings.EqualFold(kw[1], words[1]) {
				narrow = append(narrow, h)
			}
		}
		if len(narrow) > 0 {
			out = narrow
		}
	}
	return out
}

var (
	mdLink = regexp.MustCompile(`\[([^\]]+)\]\([^)]+\)`)
	mdCode = regexp.MustCompile("`([^`]*)`")
)

// PlainMeaning is Meaning without Markdown: links become their text and
// code spans lose their backticks, for a terminal.
func (h StatementHelp) PlainMeaning() string {
	return mdCode.ReplaceAllString(mdLink.ReplaceAllString(h.Meaning, "$1"), "$1")
}

// StatementTable renders the help as docs/QUERY.md's statement table.
func StatementTable() string {
	var b strings.Builder
	b.WriteString("| Statement | Meaning | Example |\n| --- | --- | --- |\n")
	for _, h := range statementHelp {
		b.WriteString("| `" + mdEscape(h.Syntax) + "` | " + h.Meaning + " | `" + mdEscape(h.Example) + "` |\n")
	}
	return b.String()
}

// mdEscape escapes the pipes of a table cell.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// usageFor returns the syntax of the statement toks begin (after EXPLAIN
// [ANALYZE], of the explained one), for the hint under a syntax error.
func usageFor(toks []string) []string {
	for len(toks) > 0 && (strings.EqualFold(toks[0], "EXPLAIN") || strings.EqualFold(toks[0], "ANALYZE")) {
		toks = toks[1:]
	}
	var out []string
	for _, h := range HelpFor(toks...) {
		out = append(out, h.Syntax)
	}
	return out
}
