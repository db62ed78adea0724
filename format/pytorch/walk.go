package pytorch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of the walk over the unpickled object.
const (
	maxDepth      = 100      // nesting of dicts, lists and tuples
	maxVisits     = 1 << 22  // values visited (shared sub-objects count each time)
	maxNotes      = 12       // skipped values named in the metadata
	maxName       = 1 << 12  // bytes of one tensor name
	maxNamesTotal = 64 << 20 // bytes of all tensor names
)

// wrapperKeys are the keys through which a checkpoint that is not itself a
// state_dict is unwrapped, in order of preference.
var wrapperKeys = []string{"state_dict", "model_state_dict", "model", "module"}

type namedTensor struct {
	name string
	t    *pyTensor
}

type walker struct {
	found   []namedTensor
	seen    map[string]bool
	visits  int
	skipped []string
	nskip   int
	path    []string // keys from the root to the value being visited
	names   int      // bytes of the names found
}

// walk finds the tensors of root; single names a lone tensor. It records
// what it unwraps and skips in meta.
func walk(root any, single string, meta map[string]string) ([]namedTensor, error) {
	w := &walker{seen: map[string]bool{}}
	var unwrapped []string
	for range 4 {
		d, ok := root.(*pyDict)
		if !ok || w.hasDirectTensor(d) {
			break
		}
		next := ""
		for _, k := range wrapperKeys {
			if v, ok := d.get(k); ok {
				has, err := w.contains(v, 0)
				if err != nil {
					return nil, err
				}
				if has {
					next, root = k, v
					break
				}
			}
		}
		if next == "" {
			break
		}
		unwrapped = append(unwrapped, next)
		for _, k := range d.keys {
			if s, _ := k.(string); s != next {
				w.path = append(w.path[:0], keyString(k))
				w.skip("")
			}
		}
		w.path = w.path[:0]
	}
	w.visits = 0
	if t, ok := root.(*pyTensor); ok {
		w.found = append(w.found, namedTensor{single, t})
	} else if err := w.visit(root, 0); err != nil {
		return nil, err
	}
	if len(unwrapped) > 0 {
		meta["pytorch.unwrapped"] = strings.Join(unwrapped, ".")
	}
	if w.nskip > 0 {
		note := fmt.Sprintf("%d non-tensor values: %s", w.nskip, strings.Join(w.skipped, ", "))
		if w.nskip > len(w.skipped) {
			note += fmt.Sprintf(" and %d more", w.nskip-len(w.skipped))
		}
		meta["pytorch.skipped"] = note
	}
	return w.found, nil
}

func (w *walker) hasDirectTensor(d *pyDict) bool {
	for _, v := range d.vals {
		if _, ok := v.(*pyTensor); ok {
			return true
		}
	}
	return false
}

// name joins the current path with ".".
func (w *walker) name() string { return strings.Join(w.path, ".") }

// skip notes a value left out, naming the first few.
func (w *walker) skip(what string) {
	w.nskip++
	if len(w.skipped) < maxNotes {
		name := w.name()
		if len(name) > 80 {
			name = strings.ToValidUTF8(name[:80], "") + "..."
		}
		if name == "" {
			name = "(top level)"
		}
		if what != "" {
			name += " (" + what + ")"
		}
		w.skipped = append(w.skipped, name)
	}
}

func (w *walker) tick(depth int) error {
	w.visits++
	if w.visits > maxVisits {
		return fmt.Errorf("the object has more than %d values to walk (hostile?)", maxVisits)
	}
	if depth > maxDepth {
		return fmt.Errorf("objects nested more than %d deep (or a cycle)", maxDepth)
	}
	return nil
}

// contains reports whether v holds a tensor.
func (w *walker) contains(v any, depth int) (bool, error) {
	if err := w.tick(depth); err != nil {
		return false, err
	}
	var items []any
	switch x := v.(type) {
	case *pyTensor:
		return true, nil
	case *pyDict:
		items = x.vals
	case *pyList:
		items = x.items
	case pyTuple:
		items = x
	}
	for _, it := range items {
		if has, err := w.contains(it, depth+1); has || err != nil {
			return has, err
		}
	}
	return false, nil
}

func (w *walker) visit(v any, depth int) error {
	if err := w.tick(depth); err != nil {
		return err
	}
	switch x := v.(type) {
	case *pyTensor:
		n := len(w.path) - 1
		for _, p := range w.path {
			n += len(p)
		}
		if n > maxName {
			return fmt.Errorf("a tensor name is longer than %d bytes", maxName)
		}
		if w.names += n; w.names > maxNamesTotal {
			return fmt.Errorf("tensor names add up to more than %d bytes", maxNamesTotal)
		}
		name := w.name()
		if name == "" {
			return errors.New("a tensor has an empty name")
		}
		if w.seen[name] {
			return fmt.Errorf("two tensors are named %q", name)
		}
		if len(w.found) >= MaxTensors {
			return fmt.Errorf("more than %d tensors", MaxTensors)
		}
		w.seen[name] = true
		w.found = append(w.found, namedTensor{name, x})
	case *pyDict:
		for i, k := range x.keys {
			ks := keyString(k)
			if ks == "" && k != "" {
				w.path = append(w.path, "?")
				w.skip("key of type " + typeName(k))
				w.path = w.path[:len(w.path)-1]
				continue
			}
			if err := w.child(ks, x.vals[i], depth); err != nil {
				return err
			}
		}
	case *pyList:
		return w.items(x.items, depth)
	case pyTuple:
		return w.items(x, depth)
	default:
		w.skip(typeName(v))
	}
	return nil
}

func (w *walker) child(key string, v any, depth int) error {
	w.path = append(w.path, key)
	err := w.visit(v, depth+1)
	w.path = w.path[:len(w.path)-1]
	return err
}

func (w *walker) items(items []any, depth int) error {
	for i, it := range items {
		if err := w.child(strconv.Itoa(i), it, depth); err != nil {
			return err
		}
	}
	return nil
}

// keyString turns a dict key into a name part ("" when it cannot).
func keyString(k any) string {
	switch v := k.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case *pyLong:
		if v.v.BitLen() <= 256 {
			return v.v.String()
		}
	case bool:
		if v {
			return "True"
		}
		return "False"
	case []byte:
		if utf8.Valid(v) {
			return string(v)
		}
	}
	return ""
}
