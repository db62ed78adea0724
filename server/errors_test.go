package server

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/vsdb/vsdb/engine"
)

// A failed object-store request is the store's trouble, not the
// client's: 502, so a client can tell an outage from its own mistake.
func TestClassifyObjectStoreErrors(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
	}{
		{fmt.Errorf("exporting: %w", engine.ErrObjectStore), http.StatusBadGateway},
		{fmt.Errorf("vsdb: no such thing: %w", engine.ErrNotFound), http.StatusNotFound},
		{fmt.Errorf("vsdb: a bad statement"), http.StatusBadRequest},
	} {
		if got, body := classify(c.err); got != c.status || body.Error == "" {
			t.Errorf("classify(%v) = %d, want %d", c.err, got, c.status)
		}
	}
}
