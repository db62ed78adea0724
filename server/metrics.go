package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/vsdb/vsdb/engine"
)

// metrics are the Prometheus series the server exports.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
}

func newMetrics(db *engine.DB) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vsdb_requests_total", Help: "Requests by endpoint and HTTP status.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "vsdb_request_duration_seconds", Help: "Request latency by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"endpoint"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vsdb_response_bytes_total", Help: "Response body bytes by endpoint.",
		}, []string{"endpoint"}),
	}
	cache := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(m.requests, m.latency, m.bytes,
		cache("vsdb_cache_hits_total", "Chunk reads served by the hot-tensor cache.", func() float64 { h, _, _ := db.CacheStats(); return float64(h) }),
		cache("vsdb_cache_misses_total", "Chunk reads the hot-tensor cache did not hold.", func() float64 { _, mi, _ := db.CacheStats(); return float64(mi) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vsdb_cache_bytes", Help: "Bytes held by the hot-tensor cache."}, func() float64 { _, _, b := db.CacheStats(); return float64(b) }),
		prometheus.NewGoCollector(),
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// recorder notes a response's status and size.
type recorder struct {
	http.ResponseWriter
	status int
	n      int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.n += int64(n)
	return n, err
}

// instrument counts and times an endpoint.
func (s *Server) instrument(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		h(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(endpoint, strconv.Itoa(rec.status)).Inc()
		s.metrics.latency.WithLabelValues(endpoint).Observe(time.Since(start).Seconds())
		s.metrics.bytes.WithLabelValues(endpoint).Add(float64(rec.n))
	}
}
