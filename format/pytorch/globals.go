package pytorch

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/vsdb/vsdb/tensor"
)

// pyDType is a torch dtype global such as torch.float32. dt is Invalid for
// dtypes that are known but not supported (complex, quantized).
type pyDType struct {
	dt   tensor.DType
	name string
}

// pyStorageType is a storage class such as torch.FloatStorage, or
// torch.UntypedStorage (untyped: bytes, dtype U8).
type pyStorageType struct {
	dt      tensor.DType
	es      int64 // element size
	name    string
	untyped bool
}

// pyStorage is a storage loaded through persistent_load: key names the
// data record; numel counts elements of dt; elemOff is where a legacy
// storage view starts within its root storage.
type pyStorage struct {
	key     string
	dt      tensor.DType
	dtName  string
	numel   int64
	elemOff int64
	view    bool
}

// pyTensor is a rebuilt tensor: nothing is read until the tensor is
// opened.
type pyTensor struct {
	st     *pyStorage
	dt     tensor.DType
	dtName string
	offset int64 // in elements of dt
	size   []int64
	stride []int64
	flags  string // "neg"/"conj" when a lazy view bit is set
}

// The dtypes, by their torch attribute names.
var dtypeNames = map[string]tensor.DType{
	"float32": tensor.F32, "float": tensor.F32,
	"float64": tensor.F64, "double": tensor.F64,
	"float16": tensor.F16, "half": tensor.F16,
	"bfloat16": tensor.BF16,
	"int64":    tensor.I64, "long": tensor.I64,
	"int32": tensor.I32, "int": tensor.I32,
	"int16": tensor.I16, "short": tensor.I16,
	"int8":          tensor.I8,
	"uint8":         tensor.U8,
	"bool":          tensor.Bool,
	"uint16":        tensor.U16,
	"uint32":        tensor.U32,
	"uint64":        tensor.U64,
	"float8_e4m3fn": tensor.F8E4M3,
	"float8_e5m2":   tensor.F8E5M2,
	// Known, not supported: tensors of these dtypes are refused by name.
	"complex32": tensor.Invalid, "complex64": tensor.Invalid, "complex128": tensor.Invalid,
	"cfloat": tensor.Invalid, "cdouble": tensor.Invalid, "chalf": tensor.Invalid,
	"qint8": tensor.Invalid, "quint8": tensor.Invalid, "qint32": tensor.Invalid,
	"quint4x2": tensor.Invalid, "quint2x4": tensor.Invalid,
	"float8_e4m3fnuz": tensor.Invalid, "float8_e5m2fnuz": tensor.Invalid, "float8_e8m0fnu": tensor.Invalid,
}

// The legacy typed storage classes and their element sizes.
var storageNames = map[string]struct {
	dt tensor.DType
	es int64
}{
	"FloatStorage":    {tensor.F32, 4},
	"DoubleStorage":   {tensor.F64, 8},
	"HalfStorage":     {tensor.F16, 2},
	"BFloat16Storage": {tensor.BF16, 2},
	"LongStorage":     {tensor.I64, 8},
	"IntStorage":      {tensor.I32, 4},
	"ShortStorage":    {tensor.I16, 2},
	"CharStorage":     {tensor.I8, 1},
	"ByteStorage":     {tensor.U8, 1},
	"BoolStorage":     {tensor.Bool, 1},
	// Known, not supported: their tensors are refused by name.
	"ComplexFloatStorage":  {tensor.Invalid, 8},
	"ComplexDoubleStorage": {tensor.Invalid, 16},
	"QInt8Storage":         {tensor.Invalid, 1},
	"QUInt8Storage":        {tensor.Invalid, 1},
	"QInt32Storage":        {tensor.Invalid, 4},
	"QUInt4x2Storage":      {tensor.Invalid, 1},
	"QUInt2x4Storage":      {tensor.Invalid, 1},
}

// The functions and classes that may be called, by "module.name".
const (
	gOrderedDict      = "collections.OrderedDict"
	gDict             = "builtins.dict"
	gList             = "builtins.list"
	gTuple            = "builtins.tuple"
	gSet              = "builtins.set"
	gFrozenSet        = "builtins.frozenset"
	gByteArray        = "builtins.bytearray"
	gBytes            = "builtins.bytes"
	gEncode           = "_codecs.encode"
	gSize             = "torch.Size"
	gDevice           = "torch.device"
	gTensor           = "torch.Tensor"
	gParameter        = "torch.nn.parameter.Parameter"
	gRebuildTensor    = "torch._utils._rebuild_tensor"
	gRebuildTensorV2  = "torch._utils._rebuild_tensor_v2"
	gRebuildTensorV3  = "torch._utils._rebuild_tensor_v3"
	gRebuildParam     = "torch._utils._rebuild_parameter"
	gRebuildParamSt   = "torch._utils._rebuild_parameter_with_state"
	gRebuildFromTypeV = "torch._tensor._rebuild_from_type_v2"
)

var callables = map[string]bool{
	gOrderedDict: true, gDict: true, gList: true, gTuple: true, gSet: true, gFrozenSet: true,
	gByteArray: true, gBytes: true, gEncode: true, gSize: true, gDevice: true,
	gTensor: true, gParameter: true,
	gRebuildTensor: true, gRebuildTensorV2: true, gRebuildTensorV3: true,
	gRebuildParam: true, gRebuildParamSt: true, gRebuildFromTypeV: true,
}

// lookupGlobal resolves GLOBAL module.name against the allow-list; any
// other global is refused before anything else happens.
func lookupGlobal(module, name string) (any, error) {
	if !utf8.ValidString(module) || !utf8.ValidString(name) || len(module)+len(name) > 256 {
		return nil, &refusedError{global: trunc(module + "." + name)}
	}
	switch module {
	case "__builtin__":
		module = "builtins"
	case "torch.storage":
		if name == "UntypedStorage" {
			module = "torch"
		}
	case "torch.cuda": // legacy files saved from a GPU
		if _, ok := storageNames[name]; ok {
			module = "torch"
		}
	}
	full := module + "." + name
	if module == "torch" {
		if dt, ok := dtypeNames[name]; ok {
			return pyDType{dt: dt, name: name}, nil
		}
		if st, ok := storageNames[name]; ok {
			return pyStorageType{dt: st.dt, es: st.es, name: name}, nil
		}
		if name == "UntypedStorage" {
			return pyStorageType{dt: tensor.U8, es: 1, name: name, untyped: true}, nil
		}
	}
	if callables[full] {
		return pyGlobal{module: module, name: name}, nil
	}
	return nil, &refusedError{global: full}
}

// call applies an allowed global to its arguments.
func (u *unpickler) call(fn any, args pyTuple) error {
	g, ok := fn.(pyGlobal)
	if !ok {
		return fmt.Errorf("cannot call a %s", typeName(fn))
	}
	if err := u.charge(len(args)); err != nil {
		return err
	}
	v, err := u.apply(g.module+"."+g.name, args)
	if err != nil {
		return err
	}
	return u.push(v)
}

func (u *unpickler) apply(full string, args pyTuple) (any, error) {
	switch full {
	case gOrderedDict, gDict:
		d := newDict()
		if len(args) == 0 {
			return d, nil
		}
		if len(args) > 1 {
			return nil, fmt.Errorf("%s takes at most one argument", full)
		}
		switch src := args[0].(type) {
		case *pyDict:
			if err := u.charge(len(src.keys)); err != nil {
				return nil, err
			}
			for i := range src.keys {
				if err := d.set(u, src.keys[i], src.vals[i]); err != nil {
					return nil, err
				}
			}
			return d, nil
		}
		items, err := u.iterable(full, args[0])
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			kv, ok := it.(pyTuple)
			if !ok || len(kv) != 2 {
				return nil, fmt.Errorf("%s: items must be (key, value) pairs", full)
			}
			if err := d.set(u, kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		return d, nil
	case gList, gTuple, gSet, gFrozenSet:
		var items []any
		if len(args) > 1 {
			return nil, fmt.Errorf("%s takes at most one argument", full)
		}
		if len(args) == 1 {
			var err error
			if items, err = u.iterable(full, args[0]); err != nil {
				return nil, err
			}
		}
		items = append([]any{}, items...)
		switch full {
		case gList:
			return &pyList{items: items}, nil
		case gTuple:
			return pyTuple(items), nil
		}
		return &pySet{items: items}, nil
	case gByteArray, gBytes:
		if len(args) == 0 {
			return []byte{}, nil
		}
		if b, ok := args[0].([]byte); ok && len(args) == 1 {
			return b, nil
		}
		if s, ok := args[0].(string); ok && len(args) == 2 {
			return latin1(s)
		}
		return nil, fmt.Errorf("%s: unsupported arguments", full)
	case gEncode:
		// Protocol 2 writes bytes as _codecs.encode(text, "latin1").
		if len(args) != 2 {
			return nil, fmt.Errorf("%s takes two arguments", full)
		}
		s, ok1 := args[0].(string)
		enc, ok2 := args[1].(string)
		if !ok1 || !ok2 || (enc != "latin1" && enc != "latin-1") {
			return nil, fmt.Errorf("%s: only (str, \"latin1\") is supported", full)
		}
		return latin1(s)
	case gSize:
		if len(args) == 0 {
			return pyTuple{}, nil
		}
		items, err := u.iterable(full, args[0])
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if _, ok := it.(int64); !ok {
				return nil, fmt.Errorf("torch.Size holds a %s, not an int", typeName(it))
			}
		}
		return append(pyTuple{}, items...), nil
	case gDevice:
		return &pyOpaque{what: "torch.device"}, nil
	case gRebuildTensor, gRebuildTensorV2, gRebuildTensorV3:
		return rebuildTensor(full, args)
	case gRebuildParam, gRebuildParamSt:
		if len(args) < 1 {
			return nil, fmt.Errorf("%s: missing the tensor", full)
		}
		t, ok := args[0].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("%s: argument is a %s, not a tensor", full, typeName(args[0]))
		}
		return t, nil
	case gRebuildFromTypeV:
		// _rebuild_from_type_v2(func, new_type, args, state)
		if len(args) != 4 {
			return nil, fmt.Errorf("%s takes 4 arguments, got %d", full, len(args))
		}
		f, ok := args[0].(pyGlobal)
		inner, ok2 := args[2].(pyTuple)
		typ, ok3 := args[1].(pyGlobal)
		if !ok || !ok2 || !ok3 {
			return nil, fmt.Errorf("%s: unsupported arguments", full)
		}
		if tn := typ.module + "." + typ.name; tn != gTensor && tn != gParameter {
			return nil, fmt.Errorf("%s: tensor subclass %s is not supported", full, tn)
		}
		switch fn := f.module + "." + f.name; fn {
		case gRebuildTensor, gRebuildTensorV2, gRebuildTensorV3:
			return rebuildTensor(fn, inner)
		default:
			return nil, fmt.Errorf("%s: rebuilding with %s is not supported", full, fn)
		}
	case gTensor, gParameter:
		if full == gParameter && len(args) >= 1 {
			if t, ok := args[0].(*pyTensor); ok {
				return t, nil
			}
		}
		return nil, fmt.Errorf("constructing %s directly is not supported", full)
	}
	return nil, fmt.Errorf("%s cannot be called", full)
}

// iterable returns the items of a list, tuple or set argument.
func (u *unpickler) iterable(fn string, v any) ([]any, error) {
	var items []any
	switch s := v.(type) {
	case pyTuple:
		items = s
	case *pyList:
		items = s.items
	case *pySet:
		items = s.items
	default:
		return nil, fmt.Errorf("%s of a %s is not supported", fn, typeName(v))
	}
	if err := u.charge(len(items)); err != nil {
		return nil, err
	}
	return items, nil
}

func latin1(s string) ([]byte, error) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, errors.New("latin1 text holds a character above U+00FF")
		}
		b = append(b, byte(r))
	}
	return b, nil
}

// rebuildTensor checks the arguments of torch._utils._rebuild_tensor,
// _v2 (storage, offset, size, stride, requires_grad, hooks[, metadata]) or
// _v3 (..., hooks, dtype[, metadata]). Bounds against the storage are
// checked once storages are known.
func rebuildTensor(fn string, args pyTuple) (any, error) {
	want := [2]int{4, 4}
	switch fn {
	case gRebuildTensorV2:
		want = [2]int{6, 7}
	case gRebuildTensorV3:
		want = [2]int{7, 8}
	}
	if len(args) < want[0] || len(args) > want[1] {
		return nil, fmt.Errorf("%s takes %d to %d arguments, got %d", fn, want[0], want[1], len(args))
	}
	st, ok := args[0].(*pyStorage)
	if !ok {
		return nil, fmt.Errorf("%s: first argument is a %s, not a storage", fn, typeName(args[0]))
	}
	off, ok := args[1].(int64)
	if !ok || off < 0 {
		return nil, fmt.Errorf("%s: storage offset must be a non-negative int", fn)
	}
	size, err := intTuple(fn, "size", args[2])
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(fn, "stride", args[3])
	if err != nil {
		return nil, err
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("%s: size has %d dimensions but stride has %d", fn, len(size), len(stride))
	}
	t := &pyTensor{st: st, dt: st.dt, dtName: st.dtName, offset: off, size: size, stride: stride}
	meta := pyTuple(nil)
	switch fn {
	case gRebuildTensorV2:
		meta = args[6:]
	case gRebuildTensorV3:
		d, ok := args[6].(pyDType)
		if !ok {
			return nil, fmt.Errorf("%s: dtype argument is a %s", fn, typeName(args[6]))
		}
		t.dt, t.dtName = d.dt, d.name
		meta = args[7:]
	}
	if len(meta) == 1 && meta[0] != nil {
		d, ok := meta[0].(*pyDict)
		if !ok {
			return nil, fmt.Errorf("%s: metadata is a %s, not a dict", fn, typeName(meta[0]))
		}
		for i, k := range d.keys {
			if b, _ := d.vals[i].(bool); b {
				name, _ := k.(string)
				t.flags = name
			}
		}
	}
	return t, nil
}

// maxRank bounds the dimensions of a tensor.
const maxRank = 64

func intTuple(fn, what string, v any) ([]int64, error) {
	var items []any
	switch s := v.(type) {
	case pyTuple:
		items = s
	case *pyList:
		items = s.items
	default:
		return nil, fmt.Errorf("%s: %s is a %s, not a tuple", fn, what, typeName(v))
	}
	if len(items) > maxRank {
		return nil, fmt.Errorf("%s: %s has %d dimensions (limit %d)", fn, what, len(items), maxRank)
	}
	out := make([]int64, len(items))
	for i, it := range items {
		n, ok := it.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("%s: %s must hold non-negative ints", fn, what)
		}
		out[i] = n
	}
	return out, nil
}
