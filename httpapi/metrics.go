package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cptsledger/ledger/app"
)

// metrics are the server's Prometheus metrics, in a registry of their own
// (with the Go and process collectors). Label values come from fixed lists
// — command types of the schemes, route patterns, outcomes, status codes —
// never from what a client sends.
type metrics struct {
	reg      *prometheus.Registry
	commands *prometheus.CounterVec
	latency  prometheus.Histogram
	events   prometheus.Counter
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(cfg Config) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledger_commands_total",
			Help: "Commands submitted over HTTP, by type and outcome (accepted, duplicate, rejected, failed)."}, []string{"type", "outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "ledger_command_duration_seconds",
			Help: "Time to decide a command and make its events durable.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "ledger_events_appended_total",
			Help: "Events appended by the commands submitted over HTTP."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ledger_http_requests_total",
			Help: "HTTP requests, by route and status."}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ledger_http_request_duration_seconds",
			Help: "HTTP request duration, by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
	}
	m.reg.MustRegister(m.commands, m.latency, m.events, m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.ProjectionLag != nil {
		m.reg.MustRegister(lagGauge("ledger_projection_lag_events", "Events of the log the read models have not applied yet.", cfg.ProjectionLag))
	}
	if cfg.RelayLag != nil {
		m.reg.MustRegister(lagGauge("ledger_relay_lag_events", "Events of the log not yet published on NATS.", cfg.RelayLag))
	}
	if cfg.RelayForeign != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ledger_relay_foreign_messages_total",
			Help: "Messages found in the relay's stream that the relay did not publish (another publisher has write access)."},
			func() float64 { return float64(cfg.RelayForeign()) }))
	}
	if cfg.Chain != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ledger_chain_ok",
			Help: "1 when the last check of the log's hash chains found it whole, 0 when it found a chain broken (nothing is then served)."},
			func() float64 {
				if ok, _ := cfg.Chain(); ok {
					return 1
				}
				return 0
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ledger_chain_last_full_check_timestamp_seconds",
				Help: "Unix time of the end of the last check of the whole log's hash chains (0: none yet)."},
				func() float64 {
					if _, at := cfg.Chain(); !at.IsZero() {
						return float64(at.UnixNano()) / 1e9
					}
					return 0
				}))
	}
	if cfg.Store != nil {
		m.reg.MustRegister(lagGauge("ledger_log_head_position", "Global position of the last event of the log.", func(ctx context.Context) (int64, error) {
			head, err := cfg.Store.Head(ctx)
			return int64(head), err
		}))
	}
	return m
}

// lagGauge reads f at each scrape (-1 when it fails, so that an alert on
// the value notices).
func lagGauge(name, help string, f func(context.Context) (int64, error)) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := f(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	})
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// command counts one command.
func (m *metrics) command(typ string, res app.Result, err error, took time.Duration) {
	outcome := "accepted"
	switch {
	case err != nil:
		outcome = "failed"
	case !res.OK:
		outcome = "rejected"
	case res.Duplicate:
		outcome = "duplicate"
	default:
		m.events.Add(float64(len(res.Events)))
	}
	m.commands.WithLabelValues(typ, outcome).Inc()
	if err == nil && res.OK {
		m.latency.Observe(took.Seconds())
	}
}

// statusRecorder keeps the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (Flush).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument counts a route's requests by status, and times them.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		s.metrics.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
