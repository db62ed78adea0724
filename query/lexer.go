package query

import (
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/participle/v2/lexer"
)

// Token type names of the lexer. Rules whose names start with a lower-case
// letter (whitespace, comment) are dropped by the lexer and never reach the
// parser.
const (
	tokIdent        = "Ident"        // keywords, model names, WHERE fields
	tokPath         = "Path"         // a tensor path, only right after ':'
	tokString       = "String"       // 'single quoted', '' escapes a quote
	tokNumber       = "Number"       // weights, options, WHERE values: 0.5, -1, 1e-3, .5, 2
	tokSize         = "Size"         // a number with a unit: 10MB, 1.5GiB (any letters; the builder checks the unit)
	tokColon        = "Colon"        // : between a model and a tensor path
	tokPunct        = "Punct"        // , ; = != < <= > >= ( ) [ ]
	tokUnterminated = "Unterminated" // a string literal missing its closing quote
	tokInvalid      = "Invalid"      // any other character
)

// Regular expressions shared by the lexer and by the canonical printer,
// which must know when a name can be written without quotes.
const (
	identPattern  = `[A-Za-z_][A-Za-z0-9_-]*`
	pathPattern   = `[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*`
	stringPattern = `'(?:[^']|'')*'`
	numberPattern = `[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?`
	// sizePattern is a number directly followed by a unit: a run of
	// letters, digits and '_' that starts with a letter or '_'. A unit
	// starting with e or E must not continue with a digit, or 1e3 would
	// read as 1 with unit "e3" (RE2 has no lookahead, hence the two
	// branches).
	sizePattern = numberPattern + `(?:[A-DF-Za-df-z_]|[eE][A-Za-z_])[A-Za-z0-9_]*`
)

// lexerDef tokenizes query text.
//
// The Root state reads everything but tensor paths. An Ident may contain
// dots (encoder.layer) so that a model name written with dots is reported
// as one bad name rather than as a stray '.'. A ':' switches to the Path
// state, in which a path may start with a digit (0.weight) and may be
// written as a quoted string; any other input returns to Root without
// consuming anything, so the parser reports the missing path.
var lexerDef = lexer.MustStateful(lexer.Rules{
	"Root": {
		{Name: "whitespace", Pattern: `\s+`},
		{Name: "comment", Pattern: `--[^\n]*`},
		{Name: tokString, Pattern: stringPattern},
		{Name: tokUnterminated, Pattern: `'(?:[^']|'')*`},
		{Name: tokIdent, Pattern: identPattern + `(?:\.[A-Za-z0-9_-]+)*`},
		{Name: tokSize, Pattern: sizePattern},
		{Name: tokNumber, Pattern: numberPattern},
		{Name: tokColon, Pattern: `:`, Action: lexer.Push("Path")},
		{Name: tokPunct, Pattern: `!=|<=|>=|[,;=<>()\[\]]`},
		{Name: tokInvalid, Pattern: `(?s).`},
	},
	"Path": {
		{Name: "whitespace", Pattern: `\s+`},
		{Name: "comment", Pattern: `--[^\n]*`},
		{Name: tokPath, Pattern: pathPattern, Action: lexer.Pop()},
		{Name: tokString, Pattern: stringPattern, Action: lexer.Pop()},
		{Name: tokUnterminated, Pattern: `'(?:[^']|'')*`, Action: lexer.Pop()},
		lexer.Return(),
	},
})

// Token types by name, resolved once.
var (
	symbols          = lexerDef.Symbols()
	typeIdent        = symbols[tokIdent]
	typeString       = symbols[tokString]
	typePunct        = symbols[tokPunct]
	typeNumber       = symbols[tokNumber]
	typeSize         = symbols[tokSize]
	typeUnterminated = symbols[tokUnterminated]
	typeInvalid      = symbols[tokInvalid]
)

// tokenize lexes src into its significant tokens, the last of which is
// EOF. Whitespace and comments are dropped. Input that starts no valid token
// (a stray character, a string missing its closing quote) is kept in the
// stream as an Invalid or Unterminated token, which no grammar rule
// accepts, and the first such token is also described by lexErr. Parse
// reports lexErr unless it finds an earlier error.
func tokenize(src string) (toks []lexer.Token, lexErr *Error) {
	lx, err := lexerDef.LexString("", src)
	if err == nil {
		toks, err = lexer.ConsumeAll(lx)
	}
	if err != nil {
		// Unreachable: the Invalid rule matches any character. Kept so a
		// future lexer change cannot turn into a panic.
		pos := lexer.Position{Line: 1, Column: 1}
		msg := err.Error()
		if le, ok := err.(*lexer.Error); ok {
			pos, msg = le.Pos, le.Msg
		}
		e := errorAt(src, pos, "%s", oneLine(msg))
		return []lexer.Token{lexer.EOFToken(pos)}, e
	}
	for _, t := range toks {
		switch t.Type {
		case typeUnterminated:
			return toks, errorAt(src, t.Pos, "unterminated string: missing closing quote (')")
		case typeInvalid:
			return toks, invalidChar(src, t)
		}
	}
	return toks, nil
}

// invalidChar reports a character that starts no token, with a hint for
// the likely mistakes.
func invalidChar(src string, t lexer.Token) *Error {
	switch {
	case t.Value == `"`:
		return errorAt(src, t.Pos, `unexpected character '"' (strings and odd names use single quotes: 'like this')`)
	case t.Value == "!":
		return errorAt(src, t.Pos, "unexpected character %q (operators are =, !=, <, <=, >, >=, LIKE and NOT LIKE)", t.Value)
	case utf8.RuneCountInString(t.Value) == 1 && unicode.IsLetter([]rune(t.Value)[0]):
		return errorAt(src, t.Pos, "unexpected character %q (quote names that use characters outside A-Z, a-z, 0-9, _ and -)", t.Value)
	default:
		return errorAt(src, t.Pos, "unexpected character %q", t.Value)
	}
}
