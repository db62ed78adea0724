package lsm

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// A measured relative error is +Inf when a lossy encoding does not
// reproduce a tensor whose values are all zero (a fine-tune's zeroed
// tensor stored as a lossy delta against a base that is not): the error
// is honest, and JSON has no number for it. Records write such a value as
// the string "+Inf" (and NaN as "NaN") and read either form back.

// jsonFloat is a float64 whose JSON form carries non-finite values.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("relative error %q is not a number", s)
		}
		*f = jsonFloat(v)
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}

// tensorRecordJSON is TensorRecord with its relative error in the form
// above; the outer field hides the embedded one of the same JSON name.
type tensorRecordJSON struct {
	plainTensorRecord
	RelError jsonFloat `json:"rel_error,omitempty"`
}

type plainTensorRecord TensorRecord

// MarshalJSON writes the record with a non-finite relative error as a string.
func (t TensorRecord) MarshalJSON() ([]byte, error) {
	return json.Marshal(tensorRecordJSON{plainTensorRecord(t), jsonFloat(t.RelError)})
}

// UnmarshalJSON reads a record written by MarshalJSON (or before it existed).
func (t *TensorRecord) UnmarshalJSON(b []byte) error {
	var j tensorRecordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = TensorRecord(j.plainTensorRecord)
	t.RelError = float64(j.RelError)
	return nil
}
