package pytorch

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of the unpickler. A state_dict's pickle is small (tens of bytes
// per tensor); these bound what a hostile one can make the reader do.
const (
	// MaxPickle bounds the size of one pickle stream, in bytes.
	MaxPickle = 1 << 30
	// MaxString bounds one string or bytes object.
	MaxString = 256 << 20
	// MaxStack bounds the unpickler's stack (objects and marks).
	MaxStack = 1 << 20
	// MaxMemo bounds the number of memo entries.
	MaxMemo = 1 << 22
	// MaxWork bounds the total work of one pickle: one unit per opcode
	// plus one per item copied between containers.
	MaxWork = 1 << 27
	// maxLine bounds a protocol-0 text line other than a string.
	maxLine = 1 << 16
	// maxLong bounds the bytes of one arbitrary-precision integer.
	maxLong = 1 << 16
)

// Python values built by the unpickler. None is nil; bool, int64,
// float64, string and []byte (bytes) are themselves.
type (
	pyTuple []any
	pyList  struct{ items []any }
	pySet   struct{ items []any }
	// pyDict keeps insertion order, like Python's dict.
	pyDict struct {
		keys, vals []any
		strIdx     map[string]int   // str keys (the usual case), not copied
		othIdx     map[[32]byte]int // other keys, by a digest of their value
	}
	// pyLong is an integer that does not fit in int64.
	pyLong struct{ v *big.Int }
	// pyGlobal is an allow-listed global (a function or class), which is
	// only ever a token: calling it runs Go code of this package.
	pyGlobal struct{ module, name string }
	// pyOpaque is an allowed object whose content is not needed (a
	// torch.device, say); it is skipped as a non-tensor leaf.
	pyOpaque struct{ what string }
)

func newDict() *pyDict { return &pyDict{strIdx: map[string]int{}} }

// set sets d[k] = v, charging the work of hashing k to u.
func (d *pyDict) set(u *unpickler, k, v any) error {
	if s, ok := k.(string); ok {
		if i, ok := d.strIdx[s]; ok {
			d.vals[i] = v
			return nil
		}
		d.strIdx[s] = len(d.keys)
	} else {
		kh := keyHasher{h: sha256.New(), budget: maxKeyCost}
		if err := kh.add(k, 0); err != nil {
			return err
		}
		if err := u.charge(maxKeyCost - kh.budget); err != nil {
			return err
		}
		var sum [32]byte
		kh.h.Sum(sum[:0])
		if d.othIdx == nil {
			d.othIdx = map[[32]byte]int{}
		}
		if i, ok := d.othIdx[sum]; ok {
			d.vals[i] = v
			return nil
		}
		d.othIdx[sum] = len(d.keys)
	}
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

func (d *pyDict) get(key string) (any, bool) {
	if i, ok := d.strIdx[key]; ok {
		return d.vals[i], true
	}
	return nil, false
}

// maxKeyCost bounds the work of hashing one dict key that is not a str:
// one unit per value plus one per 64 bytes of text (a tuple of tuples
// shared through the memo would otherwise cost exponential time).
const maxKeyCost = 1 << 12

// keyHasher digests a hashable Python value, honouring Python's
// True == 1 == 1.0 for the common cases.
type keyHasher struct {
	h      hash.Hash
	budget int
}

func (kh *keyHasher) tag(t byte, s string) {
	var n [9]byte
	n[0] = t
	binary.LittleEndian.PutUint64(n[1:], uint64(len(s)))
	kh.h.Write(n[:])
	io.WriteString(kh.h, s)
}

func (kh *keyHasher) add(k any, depth int) error {
	kh.budget--
	switch v := k.(type) {
	case string:
		kh.budget -= len(v) / 64
	case []byte:
		kh.budget -= len(v) / 64
	case *pyLong:
		kh.budget -= v.v.BitLen() / 256
	}
	if depth > 16 || kh.budget < 0 {
		return errors.New("dict key too large or nested too deeply")
	}
	switch v := k.(type) {
	case nil:
		kh.tag('n', "")
	case bool:
		if v {
			kh.tag('i', "1")
		} else {
			kh.tag('i', "0")
		}
	case int64:
		kh.tag('i', strconv.FormatInt(v, 10))
	case *pyLong: // never equal to an int64
		kh.tag('L', v.v.Text(16))
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<62 {
			kh.tag('i', strconv.FormatInt(int64(v), 10))
		} else {
			kh.tag('f', strconv.FormatFloat(v, 'g', -1, 64))
		}
	case string:
		kh.tag('s', v)
	case []byte:
		kh.tag('b', string(v))
	case pyTuple:
		kh.tag('t', strconv.Itoa(len(v)))
		for _, e := range v {
			if err := kh.add(e, depth+1); err != nil {
				return err
			}
		}
	case pyGlobal:
		kh.tag('g', v.module+"."+v.name)
	case pyDType:
		kh.tag('d', v.name)
	case pyStorageType:
		kh.tag('y', v.name)
	case *pyTensor, *pyStorage, *pyOpaque:
		kh.tag('p', fmt.Sprintf("%p", v)) // by identity, as in Python
	default:
		return fmt.Errorf("unhashable dict key (%s)", typeName(k))
	}
	return nil
}

// typeName names the Python type of a value for error messages.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *pyLong:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case pyTuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pySet:
		return "set"
	case *pyDict:
		return "dict"
	case pyGlobal:
		return v.module + "." + v.name
	case *pyTensor:
		return "tensor"
	case *pyStorage:
		return "storage"
	case pyDType:
		return "dtype"
	case pyStorageType:
		return "storage type"
	case *pyOpaque:
		return v.what
	}
	return fmt.Sprintf("%T", v)
}

// refusedError is a global outside the allow-list.
type refusedError struct{ global string }

func (e *refusedError) Error() string {
	return "refuses to load global " + e.global + " (only tensor data is read; nothing is executed)" + refusalHint(e.global)
}

func refusalHint(global string) string {
	switch {
	case strings.HasPrefix(global, "torch.nn.modules."), strings.HasPrefix(global, "__main__."):
		return "; this looks like a whole pickled model: save model.state_dict() instead"
	case strings.HasPrefix(global, "__torch__."):
		return "; this looks like TorchScript: save model.state_dict() instead"
	case strings.HasPrefix(global, "numpy."):
		return "; numpy objects in a checkpoint are not read"
	}
	return ""
}

// pickleError is a malformed or unsupported pickle; at is the byte offset
// of the opcode within the stream.
type pickleError struct {
	at  int64
	msg string
}

func (e *pickleError) Error() string { return fmt.Sprintf("at byte %d: %s", e.at, e.msg) }

// pstream reads a pickle stream of known maximum length.
type pstream struct {
	r     *bufio.Reader
	pos   int64 // bytes consumed
	limit int64 // bytes available
}

func newPstream(r io.Reader, limit int64) *pstream {
	return &pstream{r: bufio.NewReaderSize(r, int(max(16, min(limit, 64<<10)))), limit: limit}
}

var errShort = errors.New("pickle ends early (truncated?)")

func (s *pstream) byte() (byte, error) {
	if s.pos >= s.limit {
		return 0, errShort
	}
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, readErr(err)
	}
	s.pos++
	return b, nil
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errShort
	}
	return err
}

// bytes reads n bytes, checking n against what is left before allocating.
func (s *pstream) bytes(n int64) ([]byte, error) {
	if n < 0 || n > s.limit-s.pos {
		return nil, fmt.Errorf("length %d runs past the end of the pickle (%d bytes left; truncated?)", n, s.limit-s.pos)
	}
	if n > MaxString {
		return nil, fmt.Errorf("length %d exceeds the %d-byte limit of one string", n, MaxString)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(s.r, b); err != nil {
		return nil, readErr(err)
	}
	s.pos += n
	return b, nil
}

// fixed reads n <= 8 bytes into a reused buffer.
func (s *pstream) fixed(buf []byte) error {
	if int64(len(buf)) > s.limit-s.pos {
		return errShort
	}
	if _, err := io.ReadFull(s.r, buf); err != nil {
		return readErr(err)
	}
	s.pos += int64(len(buf))
	return nil
}

// line reads a protocol-0 text argument up to '\n' (not included).
func (s *pstream) line(max int) ([]byte, error) {
	var out []byte
	for {
		if s.pos >= s.limit {
			return nil, errShort
		}
		chunk, err := s.r.ReadSlice('\n')
		if int64(len(chunk)) > s.limit-s.pos {
			return nil, errShort
		}
		s.pos += int64(len(chunk))
		if len(out)+len(chunk) > max+1 {
			return nil, fmt.Errorf("text argument longer than %d bytes", max)
		}
		out = append(out, chunk...)
		switch {
		case err == nil:
			return out[:len(out)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, readErr(err)
		}
	}
}

// unpickler is a restricted pickle virtual machine: it knows the opcodes
// of protocols 0 to 5 and resolves globals only through the allow-list in
// globals.go, so loading a pickle can never run code.
type unpickler struct {
	in         *pstream
	stack      []any
	marks      []int
	memo       map[uint32]any
	work       int64
	persistent func(pid any) (any, error) // nil: persistent ids refused
}

func newUnpickler(r io.Reader, limit int64, persistent func(any) (any, error)) *unpickler {
	return &unpickler{in: newPstream(r, limit), memo: map[uint32]any{}, persistent: persistent}
}

// The opcodes (see Python's Lib/pickletools.py).
const (
	opMark           = '('
	opStop           = '.'
	opPop            = '0'
	opPopMark        = '1'
	opDup            = '2'
	opFloat          = 'F'
	opInt            = 'I'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opLong           = 'L'
	opBinInt2        = 'M'
	opNone           = 'N'
	opPersID         = 'P'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opString         = 'S'
	opBinString      = 'T'
	opShortBinString = 'U'
	opUnicode        = 'V'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opDict           = 'd'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opGet            = 'g'
	opBinGet         = 'h'
	opInst           = 'i'
	opLongBinGet     = 'j'
	opList           = 'l'
	opEmptyList      = ']'
	opObj            = 'o'
	opPut            = 'p'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'
	opProto          = 0x80
	opNewObj         = 0x81
	opExt1           = 0x82
	opExt2           = 0x83
	opExt4           = 0x84
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opLong4          = 0x8b
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opShortBinUni    = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes8      = 0x8e
	opEmptySet       = 0x8f
	opAddItems       = 0x90
	opFrozenSet      = 0x91
	opNewObjEx       = 0x92
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
	opByteArray8     = 0x96
	opNextBuffer     = 0x97
	opReadOnlyBuffer = 0x98
)

// load runs the pickle to its STOP opcode and returns the result.
func (u *unpickler) load() (any, error) {
	for {
		at := u.in.pos
		op, err := u.in.byte()
		if err != nil {
			return nil, &pickleError{at, err.Error()}
		}
		done, err := u.step(op)
		if err != nil {
			var re *refusedError
			if errors.As(err, &re) {
				return nil, err
			}
			return nil, &pickleError{at, err.Error()}
		}
		if done {
			if len(u.stack) != 1 || len(u.marks) != 0 {
				return nil, &pickleError{at, fmt.Sprintf("STOP with %d objects and %d marks on the stack (want 1 object)", len(u.stack), len(u.marks))}
			}
			return u.stack[0], nil
		}
	}
}

func (u *unpickler) charge(n int) error {
	u.work += int64(n)
	if u.work > MaxWork {
		return fmt.Errorf("pickle needs more than %d steps of work (hostile or not a checkpoint)", MaxWork)
	}
	return nil
}

func (u *unpickler) push(v any) error {
	if len(u.stack)+len(u.marks) >= MaxStack {
		return fmt.Errorf("pickle stack exceeds %d entries", MaxStack)
	}
	u.stack = append(u.stack, v)
	return nil
}

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errors.New("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errors.New("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops everything above the topmost mark, and the mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := u.stack[m:]
	u.stack = u.stack[:m]
	if err := u.charge(len(items)); err != nil {
		return nil, err
	}
	return items, nil
}

// memoIndex reads the memo index of a PUT or GET opcode: a decimal line
// (PUT, GET), one byte (BINPUT, BINGET) or four (LONG_BINPUT, LONG_BINGET).
func (u *unpickler) memoIndex(op byte) (uint32, error) {
	switch op {
	case opBinPut, opBinGet:
		v, err := u.uint(1)
		return uint32(v), err
	case opLongBinPut, opLongBinGet:
		v, err := u.uint(4)
		return uint32(v), err
	}
	b, err := u.in.line(maxLine)
	if err != nil {
		return 0, err
	}
	idx, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("bad memo index %s", trunc(string(b)))
	}
	return uint32(idx), nil
}

func (u *unpickler) memoPut(idx uint32) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if _, ok := u.memo[idx]; !ok && len(u.memo) >= MaxMemo {
		return fmt.Errorf("memo exceeds %d entries", MaxMemo)
	}
	u.memo[idx] = v
	return nil
}

func (u *unpickler) memoGet(idx uint32) error {
	v, ok := u.memo[idx]
	if !ok {
		return fmt.Errorf("memo key %d is not defined", idx)
	}
	return u.push(v)
}

func (u *unpickler) uint(n int) (uint64, error) {
	var buf [8]byte
	if err := u.in.fixed(buf[:n]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(buf[:]), nil
}

func (u *unpickler) lenArg(n int) (int64, error) {
	v, err := u.uint(n)
	if err != nil {
		return 0, err
	}
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("length %d is too large", v)
	}
	return int64(v), nil
}

func (u *unpickler) step(op byte) (bool, error) {
	if err := u.charge(1); err != nil {
		return false, err
	}
	switch op {
	case opProto:
		v, err := u.in.byte()
		if err != nil {
			return false, err
		}
		if v > 5 {
			return false, fmt.Errorf("unsupported pickle protocol %d (0 to 5 are known)", v)
		}
	case opFrame:
		if _, err := u.uint(8); err != nil { // frames are transparent
			return false, err
		}
	case opStop:
		return true, nil
	case opMark:
		if len(u.stack)+len(u.marks) >= MaxStack {
			return false, fmt.Errorf("pickle stack exceeds %d entries", MaxStack)
		}
		u.marks = append(u.marks, len(u.stack))
	case opPop:
		if len(u.stack) > 0 && (len(u.marks) == 0 || len(u.stack) > u.marks[len(u.marks)-1]) {
			u.stack = u.stack[:len(u.stack)-1]
		} else if _, err := u.popMark(); err != nil { // Python pops a mark here
			return false, err
		}
	case opPopMark:
		if _, err := u.popMark(); err != nil {
			return false, err
		}
	case opDup:
		v, err := u.top()
		if err != nil {
			return false, err
		}
		return false, u.push(v)

	// Constants and numbers.
	case opNone:
		return false, u.push(nil)
	case opNewTrue:
		return false, u.push(true)
	case opNewFalse:
		return false, u.push(false)
	case opBinInt:
		v, err := u.uint(4)
		if err != nil {
			return false, err
		}
		return false, u.push(int64(int32(uint32(v))))
	case opBinInt1:
		v, err := u.uint(1)
		if err != nil {
			return false, err
		}
		return false, u.push(int64(v))
	case opBinInt2:
		v, err := u.uint(2)
		if err != nil {
			return false, err
		}
		return false, u.push(int64(v))
	case opLong1, opLong4:
		var n int64
		var err error
		if op == opLong1 {
			n, err = u.lenArg(1)
		} else {
			var v uint64
			v, err = u.uint(4)
			n = int64(int32(uint32(v)))
		}
		if err != nil {
			return false, err
		}
		if n < 0 || n > maxLong {
			return false, fmt.Errorf("integer of %d bytes is out of range (limit %d)", n, maxLong)
		}
		b, err := u.in.bytes(n)
		if err != nil {
			return false, err
		}
		return false, u.push(decodeLong(b))
	case opInt:
		b, err := u.in.line(maxLine)
		if err != nil {
			return false, err
		}
		switch string(b) {
		case "01":
			return false, u.push(true)
		case "00":
			return false, u.push(false)
		}
		v, err := parseTextInt(string(b))
		if err != nil {
			return false, err
		}
		return false, u.push(v)
	case opLong:
		b, err := u.in.line(maxLine)
		if err != nil {
			return false, err
		}
		v, err := parseTextInt(strings.TrimSuffix(string(b), "L"))
		if err != nil {
			return false, err
		}
		return false, u.push(v)
	case opFloat:
		b, err := u.in.line(maxLine)
		if err != nil {
			return false, err
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil {
			return false, fmt.Errorf("bad FLOAT %s", trunc(string(b)))
		}
		return false, u.push(f)
	case opBinFloat:
		var buf [8]byte
		if err := u.in.fixed(buf[:]); err != nil {
			return false, err
		}
		return false, u.push(math.Float64frombits(binary.BigEndian.Uint64(buf[:])))

	// Strings and bytes.
	case opBinUnicode, opShortBinUni, opBinUnicode8:
		n, err := u.lenArg(lenSize(op))
		if err != nil {
			return false, err
		}
		b, err := u.in.bytes(n)
		if err != nil {
			return false, err
		}
		return false, u.push(string(b))
	case opBinBytes, opShortBinBytes, opBinBytes8, opByteArray8:
		n, err := u.lenArg(lenSize(op))
		if err != nil {
			return false, err
		}
		b, err := u.in.bytes(n)
		if err != nil {
			return false, err
		}
		return false, u.push(b)
	case opBinString, opShortBinString:
		var n int64
		var err error
		if op == opShortBinString {
			n, err = u.lenArg(1)
		} else {
			var v uint64
			v, err = u.uint(4)
			n = int64(int32(uint32(v)))
		}
		if err != nil {
			return false, err
		}
		b, err := u.in.bytes(n)
		if err != nil {
			return false, err
		}
		return false, u.push(py2String(b))
	case opString:
		b, err := u.in.line(MaxString)
		if err != nil {
			return false, err
		}
		s, err := unquotePy2(b)
		if err != nil {
			return false, err
		}
		return false, u.push(py2String(s))
	case opUnicode:
		b, err := u.in.line(MaxString)
		if err != nil {
			return false, err
		}
		s, err := rawUnicodeEscape(b)
		if err != nil {
			return false, err
		}
		return false, u.push(s)

	// Containers.
	case opEmptyTuple:
		return false, u.push(pyTuple{})
	case opTuple1, opTuple2, opTuple3:
		n := int(op-opTuple1) + 1
		t := make(pyTuple, n)
		for i := n - 1; i >= 0; i-- {
			v, err := u.pop()
			if err != nil {
				return false, err
			}
			t[i] = v
		}
		return false, u.push(t)
	case opTuple:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.push(append(pyTuple{}, items...))
	case opEmptyList:
		return false, u.push(&pyList{})
	case opList:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.push(&pyList{items: append([]any{}, items...)})
	case opAppend:
		v, err := u.pop()
		if err != nil {
			return false, err
		}
		t, err := u.top()
		if err != nil {
			return false, err
		}
		return false, appendTo(t, []any{v})
	case opAppends:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		t, err := u.top()
		if err != nil {
			return false, err
		}
		return false, appendTo(t, items)
	case opEmptyDict:
		return false, u.push(newDict())
	case opDict:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		d := newDict()
		if err := u.setItems(d, items); err != nil {
			return false, err
		}
		return false, u.push(d)
	case opSetItem:
		v, err := u.pop()
		if err != nil {
			return false, err
		}
		k, err := u.pop()
		if err != nil {
			return false, err
		}
		t, err := u.top()
		if err != nil {
			return false, err
		}
		return false, u.setItems(t, []any{k, v})
	case opSetItems:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		t, err := u.top()
		if err != nil {
			return false, err
		}
		return false, u.setItems(t, items)
	case opEmptySet:
		return false, u.push(&pySet{})
	case opAddItems:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		t, err := u.top()
		if err != nil {
			return false, err
		}
		s, ok := t.(*pySet)
		if !ok {
			return false, fmt.Errorf("ADDITEMS to a %s", typeName(t))
		}
		s.items = append(s.items, items...)
	case opFrozenSet:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.push(&pySet{items: append([]any{}, items...)})

	// The memo.
	case opPut, opBinPut, opLongBinPut:
		idx, err := u.memoIndex(op)
		if err != nil {
			return false, err
		}
		return false, u.memoPut(idx)
	case opMemoize:
		if len(u.memo) > math.MaxUint32 {
			return false, errors.New("memo is full")
		}
		return false, u.memoPut(uint32(len(u.memo)))
	case opGet, opBinGet, opLongBinGet:
		idx, err := u.memoIndex(op)
		if err != nil {
			return false, err
		}
		return false, u.memoGet(idx)

	// Globals and calls: everything goes through the allow-list.
	case opGlobal:
		mod, err := u.in.line(maxLine)
		if err != nil {
			return false, err
		}
		name, err := u.in.line(maxLine)
		if err != nil {
			return false, err
		}
		g, err := lookupGlobal(string(mod), string(name))
		if err != nil {
			return false, err
		}
		return false, u.push(g)
	case opStackGlobal:
		name, err := u.pop()
		if err != nil {
			return false, err
		}
		mod, err := u.pop()
		if err != nil {
			return false, err
		}
		ms, ok1 := mod.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return false, fmt.Errorf("STACK_GLOBAL needs two strings, found %s and %s", typeName(mod), typeName(name))
		}
		g, err := lookupGlobal(ms, ns)
		if err != nil {
			return false, err
		}
		return false, u.push(g)
	case opInst:
		mod, err := u.in.line(maxLine)
		if err != nil {
			return false, err
		}
		name, err := u.in.line(maxLine)
		if err != nil {
			return false, err
		}
		g, err := lookupGlobal(string(mod), string(name))
		if err != nil {
			return false, err
		}
		args, err := u.popMark()
		if err != nil {
			return false, err
		}
		return false, u.call(g, append(pyTuple{}, args...))
	case opObj:
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		if len(items) == 0 {
			return false, errors.New("OBJ without a class")
		}
		return false, u.call(items[0], append(pyTuple{}, items[1:]...))
	case opReduce, opNewObj:
		args, err := u.pop()
		if err != nil {
			return false, err
		}
		fn, err := u.pop()
		if err != nil {
			return false, err
		}
		t, ok := args.(pyTuple)
		if !ok {
			return false, fmt.Errorf("call arguments must be a tuple, found %s", typeName(args))
		}
		return false, u.call(fn, t)
	case opNewObjEx:
		kw, err := u.pop()
		if err != nil {
			return false, err
		}
		args, err := u.pop()
		if err != nil {
			return false, err
		}
		fn, err := u.pop()
		if err != nil {
			return false, err
		}
		t, ok := args.(pyTuple)
		if !ok {
			return false, fmt.Errorf("call arguments must be a tuple, found %s", typeName(args))
		}
		if d, ok := kw.(*pyDict); !ok || len(d.keys) > 0 {
			return false, fmt.Errorf("keyword arguments to %s are not supported", typeName(fn))
		}
		return false, u.call(fn, t)
	case opBuild:
		state, err := u.pop()
		if err != nil {
			return false, err
		}
		obj, err := u.top()
		if err != nil {
			return false, err
		}
		_ = state // object state (e.g. a state_dict's _metadata) is not needed
		switch obj.(type) {
		case *pyDict, *pyList, *pySet, *pyTensor, *pyOpaque:
		default:
			return false, fmt.Errorf("BUILD on a %s", typeName(obj))
		}
	case opPersID:
		b, err := u.in.line(maxLine)
		if err != nil {
			return false, err
		}
		return false, u.persistentLoad(string(b))
	case opBinPersID:
		pid, err := u.pop()
		if err != nil {
			return false, err
		}
		return false, u.persistentLoad(pid)
	case opExt1, opExt2, opExt4:
		return false, errors.New("extension-registry opcodes (EXT1/2/4) are refused")
	case opNextBuffer, opReadOnlyBuffer:
		return false, errors.New("out-of-band buffers (pickle protocol 5) are not supported")
	default:
		return false, fmt.Errorf("unknown opcode 0x%02x (not a pickle, or corrupt)", op)
	}
	return false, nil
}

// lenSize is the byte width of a string opcode's length argument.
func lenSize(op byte) int {
	switch op {
	case opShortBinUni, opShortBinBytes:
		return 1
	case opBinUnicode, opBinBytes:
		return 4
	}
	return 8
}

func (u *unpickler) persistentLoad(pid any) error {
	if u.persistent == nil {
		return errors.New("persistent id outside a torch.save checkpoint")
	}
	v, err := u.persistent(pid)
	if err != nil {
		return err
	}
	return u.push(v)
}

func appendTo(t any, items []any) error {
	switch l := t.(type) {
	case *pyList:
		l.items = append(l.items, items...)
		return nil
	case *pySet: // list-like extend on sets is what Python's APPENDS falls back to
		l.items = append(l.items, items...)
		return nil
	}
	return fmt.Errorf("APPEND to a %s", typeName(t))
}

func (u *unpickler) setItems(t any, items []any) error {
	d, ok := t.(*pyDict)
	if !ok {
		return fmt.Errorf("SETITEM on a %s", typeName(t))
	}
	if len(items)%2 != 0 {
		return errors.New("SETITEMS with an odd number of items")
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(u, items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// decodeLong decodes a little-endian two's complement integer.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var v uint64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		if len(b) < 8 && b[len(b)-1]&0x80 != 0 { // sign-extend
			v |= ^uint64(0) << (8 * len(b))
		}
		return int64(v)
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if v.IsInt64() {
		return v.Int64()
	}
	return &pyLong{v}
}

func parseTextInt(s string) (any, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	if len(s) > maxLong {
		return nil, fmt.Errorf("integer text longer than %d digits", maxLong)
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("bad integer %s", trunc(s))
	}
	return &pyLong{v}, nil
}

// py2String is a Python 2 str: text when it is valid UTF-8 (torch loads
// with encoding="utf-8"), bytes otherwise.
func py2String(b []byte) any {
	if utf8.Valid(b) {
		return string(b)
	}
	return b
}

// unquotePy2 decodes the repr() of a Python 2 str: 'text' or "text" with
// backslash escapes.
func unquotePy2(b []byte) ([]byte, error) {
	b = []byte(strings.TrimRight(string(b), " \r"))
	if len(b) < 2 || (b[0] != '\'' && b[0] != '"') || b[len(b)-1] != b[0] {
		return nil, errors.New("STRING argument is not a quoted string")
	}
	b = b[1 : len(b)-1]
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(b) {
			return nil, errors.New("STRING ends with a backslash")
		}
		switch c = b[i]; c {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case '\\', '\'', '"':
			out = append(out, c)
		case 'x':
			if i+2 >= len(b) {
				return nil, errors.New("STRING has a short \\x escape")
			}
			v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8)
			if err != nil {
				return nil, errors.New("STRING has a bad \\x escape")
			}
			out = append(out, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf("STRING escape \\%c is not supported", c)
		}
	}
	return out, nil
}

// rawUnicodeEscape decodes Python's raw-unicode-escape (UNICODE opcode):
// only \uXXXX and \UXXXXXXXX are escapes.
func rawUnicodeEscape(b []byte) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\\' && i+1 < len(b) && (b[i+1] == 'u' || b[i+1] == 'U') {
			n := 4
			if b[i+1] == 'U' {
				n = 8
			}
			if i+2+n > len(b) {
				return "", errors.New("UNICODE has a short \\u escape")
			}
			v, err := strconv.ParseUint(string(b[i+2:i+2+n]), 16, 32)
			if err != nil {
				return "", errors.New("UNICODE has a bad \\u escape")
			}
			sb.WriteRune(rune(v))
			i += 1 + n
			continue
		}
		sb.WriteRune(rune(c)) // latin-1
	}
	return sb.String(), nil
}

func trunc(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "..."
	}
	return strconv.Quote(s)
}
