package natsstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Names of the buckets and the stream.
const (
	BucketKeys    = "smd_keys"
	BucketRevoked = "smd_revoked"
	BucketAssets  = "smd_assets"
	BucketEdges   = "smd_edges"
	BucketLeases  = "smd_leases"
	BucketAllowed = "smd_allowed"
	// BucketDecisions holds the detector's latest decision per session
	// and scorer, active and shadow, for operators to read.
	BucketDecisions = "smd_decisions"
	StreamAccess    = "SMD_ACCESS"
	// AccessSubjectPrefix starts the subjects of access events:
	// smd.access.<partition>, partition = hash(session id) % AccessPartitions.
	AccessSubjectPrefix = "smd.access."
	// AccessPartitions is the number of access subjects.
	AccessPartitions = 16
)

// Limits size the buckets and the stream. Zero values take the defaults.
type Limits struct {
	// Replicas is the JetStream replica count: 1 on one node (default),
	// 3 in a cluster of 3 or more.
	Replicas int
	// EdgeTTL is how long an edge's heartbeat lives without renewal
	// (default 30s).
	EdgeTTL time.Duration
	// LeaseTTL is how long a leader lease lives without renewal
	// (default 15s).
	LeaseTTL time.Duration
	// RevokedMarkerTTL is how long the marker of an expired revocation
	// stays in the bucket so that watchers see it (default 1h).
	RevokedMarkerTTL time.Duration
	// RevokedMaxBytes bounds the revoked bucket (default 1 GiB).
	RevokedMaxBytes int64
	// AccessMaxAge and AccessMaxBytes bound the access stream (defaults
	// 24h and 2 GiB); the oldest events go first.
	AccessMaxAge   time.Duration
	AccessMaxBytes int64
	// DecisionsTTL is how long the detector's decisions are kept
	// (default 7 days, the automatic revocations' TTL); DecisionsMaxBytes
	// bounds them (default 256 MiB: past it, new decisions are not kept).
	DecisionsTTL      time.Duration
	DecisionsMaxBytes int64
	// Storage is file (default) or memory.
	Storage jetstream.StorageType
}

func (l *Limits) defaults() {
	if l.Replicas <= 0 {
		l.Replicas = 1
	}
	if l.EdgeTTL <= 0 {
		l.EdgeTTL = 30 * time.Second
	}
	if l.LeaseTTL <= 0 {
		l.LeaseTTL = 15 * time.Second
	}
	if l.RevokedMarkerTTL <= 0 {
		l.RevokedMarkerTTL = time.Hour
	}
	if l.RevokedMaxBytes <= 0 {
		l.RevokedMaxBytes = 1 << 30
	}
	if l.DecisionsTTL <= 0 {
		l.DecisionsTTL = 7 * 24 * time.Hour
	}
	if l.DecisionsMaxBytes <= 0 {
		l.DecisionsMaxBytes = 256 << 20
	}
	if l.AccessMaxAge <= 0 {
		l.AccessMaxAge = 24 * time.Hour
	}
	if l.AccessMaxBytes <= 0 {
		l.AccessMaxBytes = 2 << 30
	}
}

// Store is an open connection to smd's state.
type Store struct {
	NC *nats.Conn
	JS jetstream.JetStream
	// Keys holds the key ring (one entry, see package keyring).
	Keys jetstream.KeyValue
	// Revoked holds session id -> revocation, with per-key TTL.
	Revoked jetstream.KeyValue
	// Assets holds asset id -> asset.
	Assets jetstream.KeyValue
	// Edges holds edge id -> heartbeat; entries expire after EdgeTTL.
	Edges jetstream.KeyValue
	// Leases holds leader leases; entries expire after LeaseTTL.
	Leases jetstream.KeyValue
	// Allowed holds session id -> allowance (sessions the detector leaves
	// alone), with per-key TTL.
	Allowed jetstream.KeyValue
	// Decisions holds "<session id>.<scorer>" -> the detector's latest
	// decision (JSON); entries expire after DecisionsTTL.
	Decisions jetstream.KeyValue
	// Access is the stream of access events.
	Access jetstream.Stream
	// Limits are the limits in force (defaults filled in).
	Limits Limits
}

// Open creates (or updates to the given limits) the buckets and the stream
// on nc, idempotently: several processes may call it at once.
func Open(ctx context.Context, nc *nats.Conn, l Limits) (*Store, error) {
	l.defaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	s := &Store{NC: nc, JS: js, Limits: l}
	st := l.Storage
	kvs := []struct {
		dst *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&s.Keys, jetstream.KeyValueConfig{Bucket: BucketKeys, Description: "smd key ring", History: 16, MaxBytes: 16 << 20}},
		{&s.Revoked, jetstream.KeyValueConfig{Bucket: BucketRevoked, Description: "smd revoked sessions", History: 1,
			MaxBytes: l.RevokedMaxBytes, LimitMarkerTTL: l.RevokedMarkerTTL}},
		{&s.Assets, jetstream.KeyValueConfig{Bucket: BucketAssets, Description: "smd assets", History: 4, MaxBytes: 256 << 20}},
		{&s.Edges, jetstream.KeyValueConfig{Bucket: BucketEdges, Description: "smd edge heartbeats", History: 1, TTL: l.EdgeTTL, MaxBytes: 64 << 20}},
		{&s.Leases, jetstream.KeyValueConfig{Bucket: BucketLeases, Description: "smd leader leases", History: 1, TTL: l.LeaseTTL, MaxBytes: 1 << 20}},
		// Nothing watches smd_allowed: its purge markers need only outlive
		// a read in flight.
		{&s.Allowed, jetstream.KeyValueConfig{Bucket: BucketAllowed, Description: "smd sessions the detector leaves alone", History: 1,
			MaxBytes: 256 << 20, LimitMarkerTTL: time.Minute}},
		{&s.Decisions, jetstream.KeyValueConfig{Bucket: BucketDecisions, Description: "smd detector decisions", History: 1,
			TTL: l.DecisionsTTL, MaxBytes: l.DecisionsMaxBytes}},
	}
	for _, kv := range kvs {
		kv.cfg.Replicas = l.Replicas
		kv.cfg.Storage = st
		b, err := createKV(ctx, js, kv.cfg)
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", kv.cfg.Bucket, err)
		}
		*kv.dst = b
	}
	scfg := jetstream.StreamConfig{
		Name:        StreamAccess,
		Description: "smd access events",
		Subjects:    []string{AccessSubjectPrefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      l.AccessMaxAge,
		MaxBytes:    l.AccessMaxBytes,
		Storage:     st,
		Replicas:    l.Replicas,
		Duplicates:  time.Minute,
	}
	// Retried as the buckets are: a cluster that has just started can
	// still count a peer offline ("no suitable peers for placement").
	for i := 0; ; i++ {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s.Access, err = ensureStream(tctx, js, scfg)
		cancel()
		if err == nil {
			return s, nil
		}
		if i == 39 || ctx.Err() != nil {
			return nil, fmt.Errorf("stream %s: %w", StreamAccess, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stream %s: %w", StreamAccess, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// createKV creates or updates a bucket, retrying briefly while a cluster
// elects the stream's leader. It returns once the bucket answers a read:
// right after creation on a cluster, a read can still find no responders
// (seen in TestClusterSeparateRoles), and the first reader is a control
// plane that would fail its start on it.
func createKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	var last error
	for i := 0; i < 40; i++ {
		// Each try has its own deadline: a request sent while the
		// cluster changes its mind can go unanswered.
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		kv, err := EnsureKV(tctx, js, cfg)
		if err == nil {
			if _, err = kv.Get(tctx, "smd-open-probe"); err == nil || errors.Is(err, jetstream.ErrKeyNotFound) {
				cancel()
				return kv, nil
			}
		}
		cancel()
		last = err
		if ctx.Err() != nil {
			return nil, last
		}
		select {
		case <-ctx.Done():
			return nil, last
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil, last
}

// EnsureKV returns the bucket cfg describes, created if missing, updated
// only if its limits differ. Binding to a bucket that is already as
// wanted does not update its stream: every edge opens the buckets when it
// starts, and a stream update that crosses a consumer being created on the
// same stream is a data race inside nats-server (v2.15.2 and v2.15.3:
// fileStore.UpdateConfig writes the config that ConsumerStore reads
// unlocked; seen by -race in the Caddy module's TestNATSFeed).
func EnsureKV(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	if st, err := js.Stream(ctx, "KV_"+cfg.Bucket); err == nil && kvCurrent(st.CachedInfo().Config, cfg) {
		return js.KeyValue(ctx, cfg.Bucket)
	}
	return js.CreateOrUpdateKeyValue(ctx, cfg)
}

// kvCurrent reports whether a bucket's stream has the limits of cfg, as
// nats.go maps them (the fields smd sets).
func kvCurrent(have jetstream.StreamConfig, cfg jetstream.KeyValueConfig) bool {
	want := jetstream.StreamConfig{
		Description:            cfg.Description,
		MaxMsgsPerSubject:      max(1, int64(cfg.History)),
		MaxBytes:               cfg.MaxBytes,
		MaxAge:                 cfg.TTL,
		Storage:                cfg.Storage,
		Replicas:               max(1, cfg.Replicas),
		SubjectDeleteMarkerTTL: cfg.LimitMarkerTTL,
		AllowMsgTTL:            cfg.LimitMarkerTTL != 0,
	}
	if want.MaxBytes == 0 {
		want.MaxBytes = -1
	}
	return have.Description == want.Description && have.MaxMsgsPerSubject == want.MaxMsgsPerSubject &&
		have.MaxBytes == want.MaxBytes && have.MaxAge == want.MaxAge && have.Storage == want.Storage &&
		have.Replicas == want.Replicas && have.SubjectDeleteMarkerTTL == want.SubjectDeleteMarkerTTL &&
		have.AllowMsgTTL == want.AllowMsgTTL
}

// ensureStream is EnsureKV for the access stream.
func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	if st, err := js.Stream(ctx, cfg.Name); err == nil {
		have := st.CachedInfo().Config
		if have.Description == cfg.Description && slices.Equal(have.Subjects, cfg.Subjects) &&
			have.Retention == cfg.Retention && have.Discard == cfg.Discard && have.MaxAge == cfg.MaxAge &&
			have.MaxBytes == cfg.MaxBytes && have.Storage == cfg.Storage && have.Replicas == max(1, cfg.Replicas) &&
			have.Duplicates == cfg.Duplicates {
			return st, nil
		}
	}
	return js.CreateOrUpdateStream(ctx, cfg)
}

// Close drains the connection.
func (s *Store) Close() error {
	if s.NC == nil {
		return nil
	}
	return s.NC.Drain()
}
