package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/format"
	"github.com/vsdb/vsdb/format/safetensors"
	"github.com/vsdb/vsdb/query"
)

// ContentTypeTensors is the media type of tensor results: a safetensors
// file whose "__metadata__" carries the result table ("vsdb.columns",
// "vsdb.rows", JSON-encoded) and the tensor names in result order
// ("vsdb.order").
const ContentTypeTensors = "application/vnd.vsdb.safetensors"

type queryRequest struct {
	Statement string `json:"statement"`
}

type table struct {
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// handleQuery runs one statement.
func (s *Server) handleQuery(w http.ResponseWriter, r *http.Request) {
	src, err := s.readStatement(w, r)
	if err != nil {
		writeErr(w, err)
		return
	}
	stmt, err := query.Parse(src)
	if err != nil {
		writeErr(w, err)
		return
	}
	if needsRoot(stmt) && s.opts.Root == "" {
		writeErr(w, fail(http.StatusForbidden, "vsdb: INGEST and EXPORT through the server need a root folder (vsdb serve --root DIR)"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	res, err := s.db.Query(engine.WithPathResolver(ctx, s.resolve), src)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fail(http.StatusGatewayTimeout, fmt.Sprintf("vsdb: the statement ran longer than the server's limit of %s and was cancelled", s.opts.Timeout))
		}
		s.writeErr(w, err)
		return
	}
	t := table{Columns: res.Columns, Rows: res.JSONRows()}
	if t.Rows == nil {
		t.Rows = [][]any{}
	}
	if len(res.Tensors) == 0 {
		writeJSON(w, t)
		return
	}
	var total int64
	entries := make([]format.Entry, len(res.Tensors))
	order := make([]string, len(res.Tensors))
	for i, x := range res.Tensors {
		total += int64(len(x.Data))
		entries[i] = format.Entry{Name: x.Name, DType: x.DType, Shape: x.Shape, Size: int64(len(x.Data))}
		order[i] = x.Name
	}
	if total > s.opts.MaxResult {
		writeErr(w, fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("vsdb: the result holds %d bytes of tensors, over the server's limit of %d", total, s.opts.MaxResult)))
		return
	}
	meta, err := tableMetadata(t, order)
	if err != nil {
		writeErr(w, fail(http.StatusInternalServerError, err.Error()))
		return
	}
	size, err := safetensors.FileSize(entries, meta)
	if err != nil {
		writeErr(w, fail(http.StatusInternalServerError, err.Error()))
		return
	}
	w.Header().Set("Content-Type", ContentTypeTensors)
	// With a length, clients read the body straight into their buffer
	// (Python's http.client decodes a chunked body in Python, 3x slower).
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	// The tensors are written from the result's own buffers: no copy.
	safetensors.Write(w, entries, meta, func(i int) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(res.Tensors[i].Data)), nil
	})
}

// readStatement reads and bounds the request body.
func (s *Server) readStatement(w http.ResponseWriter, r *http.Request) (string, error) {
	body := http.MaxBytesReader(w, r.Body, int64(s.opts.MaxStatement)+1024)
	var req queryRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("vsdb: statement longer than the server's limit of %d bytes", s.opts.MaxStatement))
		}
		return "", fail(http.StatusBadRequest, fmt.Sprintf("vsdb: the request body must be JSON {\"statement\": \"...\"}: %v", err))
	}
	if strings.TrimSpace(req.Statement) == "" {
		return "", fail(http.StatusBadRequest, "vsdb: the request body must be JSON {\"statement\": \"...\"} with a statement")
	}
	if len(req.Statement) > s.opts.MaxStatement {
		return "", fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("vsdb: statement of %d bytes is longer than the server's limit of %d", len(req.Statement), s.opts.MaxStatement))
	}
	return req.Statement, nil
}

func tableMetadata(t table, order []string) (map[string]string, error) {
	meta := map[string]string{}
	for k, v := range map[string]any{"vsdb.columns": t.Columns, "vsdb.rows": t.Rows, "vsdb.order": order} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("vsdb: encoding the result table: %v", err)
		}
		meta[k] = string(b)
	}
	return meta, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeErr(w, fail(http.StatusInternalServerError, fmt.Sprintf("vsdb: encoding the result: %v", err)))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}
