package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
)

// handleTensor streams one stored tensor as safetensors, chunk by chunk.
func (s *Server) handleTensor(w http.ResponseWriter, r *http.Request) {
	model, name := r.URL.Query().Get("model"), r.URL.Query().Get("name")
	if model == "" || name == "" {
		writeErr(w, fail(http.StatusBadRequest, "vsdb: GET /v1/tensor needs ?model=M&name=N"))
		return
	}
	started := false
	err := s.db.TensorTo(r.Context(), model, name, &startWriter{w: w, started: &started}, func(t engine.TensorInfo) error {
		if t.RawBytes > s.opts.MaxResult {
			return fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("vsdb: tensor %s holds %d bytes, over the server's limit of %d", t.Ref(), t.RawBytes, s.opts.MaxResult))
		}
		size, err := safetensors.FileSize([]format.Entry{{Name: t.Name, DType: t.DType, Shape: t.Shape, Size: t.RawBytes}}, nil)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		return nil
	})
	if err != nil && !started {
		writeErr(w, err)
	}
	// An error after the first byte cannot change the status: the client
	// sees a short body, which its safetensors reader refuses.
}

// startWriter sets the content type before the first byte.
type startWriter struct {
	w       http.ResponseWriter
	started *bool
}

func (s *startWriter) Write(p []byte) (int, error) {
	if !*s.started {
		s.w.Header().Set("Content-Type", ContentTypeTensors)
		*s.started = true
	}
	return s.w.Write(p)
}
