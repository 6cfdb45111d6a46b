package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fabsync/fabsync/internal/config"
)

// configStatus is the fabrics file's reload status as /readyz and GET /api/v1/fabrics show it.
// It leaves out the file's path: /readyz is open to anyone who can reach the server.
type configStatus struct {
	OK       bool      `json:"ok"`                 // the file on disk is valid and is what runs
	Error    string    `json:"error,omitempty"`    // why not, naming the line where known
	Since    time.Time `json:"since,omitzero"`     // when it became unusable
	LastGood time.Time `json:"last_good,omitzero"` // when the running content was read
}

func newConfigStatus(st config.Status) configStatus {
	return configStatus{OK: st.OK, Error: st.Err, Since: st.Since, LastGood: st.LastGood}
}

// configCollector exports the fabrics file's reload status to Prometheus, read at each scrape.
type configCollector struct {
	src      *config.Source
	valid    *prometheus.Desc
	lastGood *prometheus.Desc
}

func newConfigCollector(src *config.Source) *configCollector {
	return &configCollector{
		src: src,
		valid: prometheus.NewDesc("fabsync_config_valid",
			"1 when the fabrics file on disk is valid and running; 0 while it is invalid and the last good one runs.", nil, nil),
		lastGood: prometheus.NewDesc("fabsync_config_last_reload_success_timestamp_seconds",
			"When the running fabrics file was read, in seconds since the Unix epoch.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *configCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.valid
	ch <- c.lastGood
}

// Collect implements prometheus.Collector.
func (c *configCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Status()
	valid := 0.0
	if st.OK {
		valid = 1
	}
	ch <- prometheus.MustNewConstMetric(c.valid, prometheus.GaugeValue, valid)
	ch <- prometheus.MustNewConstMetric(c.lastGood, prometheus.GaugeValue, float64(st.LastGood.Unix())+float64(st.LastGood.Nanosecond())/1e9)
}
