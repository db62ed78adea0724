package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/vsdb/vsdb/engine"
	"github.com/vsdb/vsdb/query"
)

// errorBody is every error response.
type errorBody struct {
	Error  string `json:"error"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// statusError carries the HTTP status an error maps to.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func fail(status int, msg string) error { return &statusError{status, msg} }

// classify maps an error to its status and body.
func classify(err error) (int, errorBody) {
	body := errorBody{Error: oneLine(err.Error())}
	if !strings.HasPrefix(body.Error, "vsdb: ") {
		body.Error = "vsdb: " + body.Error
	}
	var qe *query.Error
	if errors.As(err, &qe) {
		body.Line, body.Column = qe.Line, qe.Column
	}
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.status, body
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, body
	case errors.Is(err, engine.ErrNotFound):
		return http.StatusNotFound, body
	case errors.Is(err, engine.ErrObjectStore):
		return http.StatusBadGateway, body
	}
	return http.StatusBadRequest, body
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func writeError(w http.ResponseWriter, status int, body errorBody) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func writeErr(w http.ResponseWriter, err error) {
	status, body := classify(err)
	writeError(w, status, body)
}

// writeErr writes an error with the root folder taken out of its message.
func (s *Server) writeErr(w http.ResponseWriter, err error) {
	status, body := classify(err)
	body.Error = s.hideRoot(body.Error)
	writeError(w, status, body)
}
