package query

import (
	"fmt"
	"regexp"
)

// MaxModelName is the longest model name vsdb accepts, in bytes.
const MaxModelName = 200

var bareModelName = regexp.MustCompile(`^` + identPattern + `$`)

// ValidModelName checks that name can name a model: an identifier
// (letters, digits, '_' and '-', not starting with a digit or '-') of at
// most MaxModelName bytes, so it can always be written in a statement
// without quotes.
func ValidModelName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("vsdb: empty model name")
	case len(name) > MaxModelName:
		return fmt.Errorf("vsdb: model name %q... is %d bytes long; the limit is %d", name[:20], len(name), MaxModelName)
	case !bareModelName.MatchString(name):
		return fmt.Errorf("vsdb: model name %q: use letters, digits, '_' and '-', starting with a letter or '_'", name)
	}
	return nil
}
