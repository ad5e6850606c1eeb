package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/accessexport"
	"github.com/smd-media/smd/internal/accessstream"
	"github.com/smd-media/smd/internal/accessupload"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/detect"
	"github.com/smd-media/smd/internal/natsstore"
)

// Option adds to what StartServe and StartControl run.
type Option func(*options)

type options struct {
	consumer   func(*natsstore.Store) (accessstream.ConsumerConfig, error)
	onDecision func(detect.Decision)
	mount      map[string]http.Handler
}

// WithMount has smd serve's edge serve h under the path prefix (no token
// check, no cache); a handler at "/" serves the paths no route claims
// (smd demo's website). Prefixes under /v1/ belong to the API.
func WithMount(prefix string, h http.Handler) Option {
	return func(o *options) {
		if o.mount == nil {
			o.mount = map[string]http.Handler{}
		}
		o.mount[prefix] = h
	}
}

// WithDecisionHook has the control plane's detector call hook with every
// decision of every scorer, shadow ones included (smd simulate compares
// scorers this way). Keep it quick: it runs on the detector's goroutine.
func WithDecisionHook(hook func(detect.Decision)) Option {
	return func(o *options) { o.onDecision = hook }
}

// WithAccessConsumer makes the control plane read the access stream with
// another handler than the detector's (which it replaces). Once the store is open, the node calls build with it;
// build returns the consumer's configuration with its Handler set (e.g. a
// detector revoking through st.Revoked) and, if need be, Name, Replay,
// StartBack; the node fills in JS, Leases and Log when empty (Member
// defaults to "<host>-<pid>-<random>"), runs the consumer until the node stops, and registers its
// counters as metrics. Without this option the control plane reads no
// partition.
func WithAccessConsumer(build func(st *natsstore.Store) (accessstream.ConsumerConfig, error)) Option {
	return func(o *options) { o.consumer = build }
}

// AccessConsumer returns the control plane's access stream consumer (nil
// without WithAccessConsumer).
func (n *Node) AccessConsumer() *accessstream.Consumer { return n.consumer }

// Detector returns the control plane's detector (nil when off, before
// the store opened, or replaced by WithAccessConsumer).
func (n *Node) Detector() *detect.Detector {
	n.storeMu.Lock()
	defer n.storeMu.Unlock()
	return n.detector
}

// AccessExporter returns the control plane's exporter (nil when
// control.export.dir is empty).
func (n *Node) AccessExporter() *accessexport.Exporter { return n.exporter }

// AccessPublisher returns the edge's publisher to the access stream (nil
// when access_stream is off or the node runs no edge).
func (n *Node) AccessPublisher() *accessstream.Publisher { return n.publisher }

// startPublisher builds the edge's publisher on nc (connected or not: it
// spools until NATS answers), registers its metrics and runs it until ctx
// ends. nil when the access stream is off.
func startPublisher(ctx context.Context, cfg *config.Edge, nc *nats.Conn, reg prometheus.Registerer,
	log *slog.Logger, run func(func() error)) (*accessstream.Publisher, error) {
	if !cfg.AccessStreamOn() {
		return nil, nil
	}
	a := cfg.AccessStream
	p, err := accessstream.NewPublisher(accessstream.PublisherConfig{
		EdgeID:        cfg.ID,
		SpoolDir:      cfg.AccessSpoolDir(),
		SpoolMaxBytes: int64(a.SpoolMaxBytes),
		SyncInterval:  a.SpoolSync.D(),
		Queue:         a.Queue,
		QueueBytes:    int64(a.QueueBytes),
		Batch:         a.Batch,
		BatchBytes:    int(a.BatchBytes),
		Linger:        a.Linger.D(),
		MaxPending:    a.MaxPending,
		AckTimeout:    a.AckTimeout.D(),
		Log:           log.With("part", "access-stream"),
	}, nc)
	if err != nil {
		return nil, fmt.Errorf("access_stream: %w", err)
	}
	for _, c := range []struct {
		name, help string
		f          func() int64
	}{
		{"smd_edge_access_stream_published_total", "Access events acknowledged by the stream.", p.Published},
		{"smd_edge_access_stream_spooled_total", "Access events written to the local spool (NATS away or behind).", p.Spooled},
		{"smd_edge_access_stream_dropped_total", "Access events lost: queue full, spool full, or logged while stopping.", p.Dropped},
		{"smd_edge_access_stream_publish_failures_total", "Publishes to the access stream that failed or timed out.", p.PublishFailures},
		{"smd_edge_access_spool_errors_total", "Writes to the access spool that failed (a full disk); the events are counted dropped.", p.SpoolErrors},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help}, func() float64 { return float64(c.f()) }))
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smd_edge_access_spool_bytes", Help: "Size of the access spool's files.",
	}, func() float64 { return float64(p.SpoolBytes()) }))
	run(func() error { return p.Run(ctx) })
	return p, nil
}

// startAccessReaders runs the exporter (when configured) and the access
// consumer (when an option asks for it) of a control plane.
func (n *Node) startAccessReaders(ctx context.Context, cfg *config.Serve, st *natsstore.Store, o *options,
	reg prometheus.Registerer, log *slog.Logger) error {
	if ex := cfg.Control.Export; ex.Dir != "" {
		node := ex.Node
		if node == "" {
			node = cfg.ID
		}
		x, err := accessexport.New(ctx, accessexport.Config{
			Dir: ex.Dir, Node: node, JS: st.JS, Leases: st.Leases, Grace: ex.Grace.D(),
			Replicas: st.Limits.Replicas, Log: log.With("part", "export"),
		})
		if err != nil {
			return fmt.Errorf("control.export: %w", err)
		}
		for _, c := range []struct {
			name, help string
			f          func() int64
		}{
			{"smd_control_export_events_total", "Access events written to closed export files.", x.Exported},
			{"smd_control_export_files_total", "Export files closed.", x.Files},
			{"smd_control_export_skipped_total", "Access events not exported again (exported before a takeover, or duplicates).", x.Skipped},
		} {
			reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help}, func() float64 { return float64(c.f()) }))
		}
		n.exporter = x
		exported := make(chan struct{})
		n.run(func() error { defer close(exported); return x.Run(ctx) })
		if ex.S3.Endpoint != "" {
			if err := n.startUpload(ctx, ex, exported, reg, log); err != nil {
				return err
			}
		}
	}
	if o.consumer == nil {
		return nil
	}
	cc, err := o.consumer(st)
	if err != nil {
		return fmt.Errorf("access consumer: %w", err)
	}
	if cc.Handler == nil {
		return errors.New("access consumer: no handler")
	}
	if cc.JS == nil {
		cc.JS = st.JS
	}
	if cc.Leases == nil {
		cc.Leases = st.Leases
	}
	if cc.Log == nil {
		cc.Log = log.With("part", "access-consumer")
	}
	c, err := accessstream.NewConsumer(ctx, cc)
	if err != nil {
		return err
	}
	for _, m := range []struct {
		name, help string
		f          func() int64
	}{
		{"smd_control_access_events_total", "Access events handed to the detector (replays included).", c.Delivered},
		{"smd_control_access_duplicates_total", "Access events dropped as duplicates (same message id).", c.Duplicates},
		{"smd_control_access_invalid_total", "Access events that could not be decoded (bad lines of a batch, messages of an unknown format).", c.Invalid},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help}, func() float64 { return float64(m.f()) }))
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smd_control_access_partitions", Help: "Access stream partitions this control plane owns.",
	}, func() float64 { return float64(len(c.Owned())) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "smd_control_access_pending_messages",
			Help: "Access stream messages (batches of events) of the owned partitions not read yet: the detector's backlog.",
		}, func() float64 { return float64(c.Pending()) }))
	n.consumer = c
	n.run(func() error { return c.Run(ctx) })
	return nil
}

// startUpload runs the upload of the export's files to S3 (control.export.s3).
func (n *Node) startUpload(ctx context.Context, ex config.Export, exported <-chan struct{}, reg prometheus.Registerer, log *slog.Logger) error {
	s3 := ex.S3
	access, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if s3.AccessKeyFile != "" {
		a, err := os.ReadFile(s3.AccessKeyFile)
		if err != nil {
			return fmt.Errorf("control.export.s3.access_key_file: %w", err)
		}
		sk, err := os.ReadFile(s3.SecretKeyFile)
		if err != nil {
			return fmt.Errorf("control.export.s3.secret_key_file: %w", err)
		}
		access, secret = strings.TrimSpace(string(a)), strings.TrimSpace(string(sk))
	}
	if access == "" || secret == "" {
		return errors.New("control.export.s3: no credentials: set access_key_file and secret_key_file, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	u, err := accessupload.New(accessupload.Config{
		Dir: ex.Dir, Endpoint: s3.Endpoint, Insecure: s3.Insecure, Region: s3.Region, Bucket: s3.Bucket, Prefix: s3.Prefix,
		AccessKey: access, SecretKey: secret, Interval: s3.Interval.D(), DeleteAfterUpload: s3.DeleteAfterUpload,
		After: exported, Log: log.With("part", "export-upload"),
	})
	if err != nil {
		return fmt.Errorf("control.export.s3: %w", err)
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smd_control_export_uploaded_total", Help: "Export files uploaded to object storage."},
			func() float64 { return float64(u.Uploaded()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "smd_control_export_upload_failures_total", Help: "Uploads of export files that failed (each is retried)."},
			func() float64 { return float64(u.Failures()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_control_export_upload_pending", Help: "Closed export files not uploaded at the last pass."},
			func() float64 { return float64(u.Pending()) }),
	)
	n.uploader = u
	n.run(func() error { return u.Run(ctx) })
	return nil
}
