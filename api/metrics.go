package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the server's Prometheus metrics.
type Metrics struct {
	Requests      *prometheus.CounterVec
	Duration      *prometheus.HistogramVec
	IngestedRuns  prometheus.Counter
	IngestedSteps prometheus.Counter
	Rejected      prometheus.Counter
}

// NewMetrics creates and registers the metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "agenttrace_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		Duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "agenttrace_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
		IngestedRuns:  prometheus.NewCounter(prometheus.CounterOpts{Name: "agenttrace_ingested_runs_total", Help: "Runs written by ingest."}),
		IngestedSteps: prometheus.NewCounter(prometheus.CounterOpts{Name: "agenttrace_ingested_steps_total", Help: "Steps written by ingest."}),
		Rejected:      prometheus.NewCounter(prometheus.CounterOpts{Name: "agenttrace_ingest_rejected_batches_total", Help: "Ingest batches rejected as invalid."}),
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Duration, m.IngestedRuns, m.IngestedSteps, m.Rejected)
	}
	return m
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Instrument wraps the whole mux: it counts and times requests by their
// route pattern (never by raw path, which would explode the label space).
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		m.Requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		m.Duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
