package server

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vsdb/vsdb/engine"
)

// Options configure a Server.
type Options struct {
	// Token, when not empty, must come with every request as
	// "Authorization: Bearer TOKEN".
	Token string
	// Root is the folder INGEST and EXPORT paths are confined to: relative
	// paths are resolved under it, others must lie inside it. Empty: file
	// statements are refused.
	Root string
	// MaxStatement bounds a statement's length in bytes (default 64 KiB).
	MaxStatement int
	// MaxResult bounds the bytes of tensors one response returns (default
	// 4 GiB).
	MaxResult int64
	// Timeout bounds one statement's run time (default 10 minutes).
	Timeout time.Duration
}

func (o *Options) defaults() {
	if o.MaxStatement <= 0 {
		o.MaxStatement = 64 << 10
	}
	if o.MaxResult <= 0 {
		o.MaxResult = 4 << 30
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
}

// Server serves one engine.DB over HTTP.
type Server struct {
	db       *engine.DB
	opts     Options
	metrics  *metrics
	mux      *http.ServeMux
	draining atomic.Bool
}

// New returns a server over db.
func New(db *engine.DB, o Options) *Server {
	o.defaults()
	s := &Server{db: db, opts: o, metrics: newMetrics(db), mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /v1/query", s.instrument("query", s.handleQuery))
	s.mux.HandleFunc("GET /v1/tensor", s.instrument("tensor", s.handleTensor))
	s.mux.HandleFunc("GET /v1/health", s.instrument("health", s.handleHealth))
	s.mux.Handle("GET /metrics", s.metrics.handler())
	// Every other method or path gets a JSON error too.
	for _, p := range []string{"/v1/query", "/v1/tensor", "/v1/health", "/metrics"} {
		s.mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, errorBody{Error: "vsdb: " + r.Method + " is not allowed on " + r.URL.Path})
		})
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, errorBody{Error: "vsdb: no endpoint " + r.URL.Path + " (see docs/openapi.yaml)"})
	})
	return s
}

// Drain makes new requests fail with 503 while the process shuts down.
func (s *Server) Drain() { s.draining.Store(true) }

// ServeHTTP checks the token, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token != "" && !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, errorBody{Error: "vsdb: missing or wrong token (send Authorization: Bearer TOKEN)"})
		return
	}
	if s.draining.Load() {
		writeError(w, http.StatusServiceUnavailable, errorBody{Error: "vsdb: the server is shutting down"})
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) == 1
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"ok"}` + "\n"))
}
