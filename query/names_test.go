package query

import "testing"

func TestValidModelName(t *testing.T) {
	long := make([]byte, MaxModelName+1)
	for i := range long {
		long[i] = 'a'
	}
	for name, ok := range map[string]bool{"m": true, "a_b-c9": true, "_x": true, "": false, "9a": false, "-a": false,
		"a b": false, "../x": false, "a:b": false, "a.b": false, string(long[:MaxModelName]): true, string(long): false} {
		if err := ValidModelName(name); (err == nil) != ok {
			t.Errorf("ValidModelName(%q) = %v", name, err)
		}
	}
}
