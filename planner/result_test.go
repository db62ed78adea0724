package planner

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// JSONRows turns the floats JSON cannot hold into strings and leaves the
// result's own rows as they were.
func TestJSONRows(t *testing.T) {
	r := table("name", "rel_error")
	r.add("a", 0.5)
	r.add("b", math.Inf(1))
	r.add("c", math.NaN())
	r.add("d", []int64{2, 3})
	got := r.JSONRows()
	want := [][]any{{"a", 0.5}, {"b", "+Inf"}, {"c", "NaN"}, {"d", []int64{2, 3}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("JSONRows = %v, want %v", got, want)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(r.Rows[1][1].(float64), 1) {
		t.Error("the result's own rows were changed")
	}
	finite := table("x")
	finite.add(1.0)
	if got := finite.JSONRows(); &got[0][0] != &finite.Rows[0][0] {
		t.Error("finite rows were copied")
	}
}
