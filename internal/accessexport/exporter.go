package accessexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/accessstream"
	"github.com/smd-media/smd/internal/lease"
	"github.com/smd-media/smd/internal/natsstore"
)

// BucketExport is the KV bucket of the export checkpoints.
const BucketExport = "smd_export"

// Config configures an [Exporter].
type Config struct {
	// Dir is the export directory (required). Several control planes may
	// share it (a network file system) or each have their own (then
	// gather the files, e.g. by syncing each to one object store prefix).
	Dir string
	// Node names this control plane in file names (required).
	Node string
	// JS reaches the SMD_ACCESS stream (required).
	JS jetstream.JetStream
	// Leases is the smd_leases bucket: one writer in the cluster (required).
	Leases jetstream.KeyValue
	// Name is the lease's name and the checkpoint's key; default
	// "smd_export".
	Name string
	// Grace is how long after an hour ends its file stays open for late
	// events (and how long the file of a late event stays open). Default 2m.
	Grace time.Duration
	// Replicas is the JetStream replica count of the checkpoint bucket;
	// default 1.
	Replicas int
	// Batch is how many messages (batches of up to the edges'
	// access_stream.batch events) one fetch asks for; default 64.
	Batch int
	// Log receives operational messages; none when nil.
	Log *slog.Logger
	// Now is the clock that decides when files close; time.Now when nil.
	Now func() time.Time
}

// Exporter writes the hourly files while it holds the export lease.
type Exporter struct {
	cfg   Config
	kv    jetstream.KeyValue
	lease *lease.Lease

	read, exported, files, skipped, invalid atomic.Int64
}

// checkpoint is the export's progress (see the package comment).
type checkpoint struct {
	// Seq: every event up to this stream sequence is in a closed file.
	Seq uint64 `json:"seq"`
	// Hours: for an hour, the last sequence in its closed files (only
	// those above Seq).
	Hours map[string]uint64 `json:"hours,omitempty"`
}

// New checks cfg, creates the checkpoint bucket if need be, and returns an
// exporter; Run writes.
func New(ctx context.Context, cfg Config) (*Exporter, error) {
	if cfg.Dir == "" || cfg.Node == "" || cfg.JS == nil || cfg.Leases == nil {
		return nil, errors.New("export: Dir, Node, JS and Leases are required")
	}
	if strings.ContainsAny(cfg.Node, `/\`) || strings.HasPrefix(cfg.Node, ".") {
		return nil, fmt.Errorf("export: node name %q is not usable in a file name", cfg.Node)
	}
	if cfg.Name == "" {
		cfg.Name = "smd_export"
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 2 * time.Minute
	}
	if cfg.Replicas <= 0 {
		cfg.Replicas = 1
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	kv, err := natsstore.EnsureKV(ctx, cfg.JS, jetstream.KeyValueConfig{
		Bucket: BucketExport, Description: "smd access export checkpoints", History: 1, MaxBytes: 1 << 20, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("export: bucket %s: %w", BucketExport, err)
	}
	l, err := lease.New(ctx, cfg.Leases, lease.Config{Name: cfg.Name, Holder: cfg.Node + "-" + lease.DefaultHolder(), Log: cfg.Log})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return &Exporter{cfg: cfg, kv: kv, lease: l}, nil
}

// Read counts events read from the stream by this process.
func (x *Exporter) Read() int64 { return x.read.Load() }

// Exported counts events in files this process closed.
func (x *Exporter) Exported() int64 { return x.exported.Load() }

// Files counts the files this process closed.
func (x *Exporter) Files() int64 { return x.files.Load() }

// Skipped counts events not written again: already exported before a
// takeover, or duplicates (same message id).
func (x *Exporter) Skipped() int64 { return x.skipped.Load() }

// Invalid counts events that could not be decoded (lines of a batch that
// are not access events, events of a message in an unknown format).
func (x *Exporter) Invalid() int64 { return x.invalid.Load() }

// Run contends for the export lease until ctx ends, and exports while it
// holds it. When ctx ends, the files being written are closed (shorter
// files for the current hour; the next writer adds more) and the
// checkpoint moved; when the lease is lost, they are removed instead.
func (x *Exporter) Run(ctx context.Context) error {
	return x.lease.Run(ctx, func(lctx context.Context) {
		x.cfg.Log.Info("export: writing", "dir", x.cfg.Dir)
		if err := x.write(ctx, lctx); err != nil && ctx.Err() == nil {
			x.cfg.Log.Error("export: stopped writing", "err", err)
		}
	})
}

// write exports from the checkpoint until lctx ends; ctx is the process's.
func (x *Exporter) write(ctx, lctx context.Context) error {
	cp, rev, err := x.load(lctx)
	if err != nil {
		return err
	}
	occ := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if cp.Seq > 0 {
		occ.DeliverPolicy, occ.OptStartSeq = jetstream.DeliverByStartSequencePolicy, cp.Seq+1
	}
	oc, err := x.cfg.JS.OrderedConsumer(lctx, natsstore.StreamAccess, occ)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	w := &writer{x: x, cp: cp, rev: rev, open: map[string]*hourFile{}, last: cp.Seq, seen: newRecent(1 << 16)}
	defer func() {
		// A process stopping closes its files; a writer losing its lease
		// must not rename anything: the next one writes these events.
		if ctx.Err() != nil && lctx.Err() != nil && w.err == nil {
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			w.closeFiles(func(*hourFile) bool { return true })
			w.save(fctx)
			cancel()
		}
		for _, hf := range w.open {
			hf.abort()
		}
	}()
	for lctx.Err() == nil && w.err == nil {
		batch, err := oc.Fetch(x.cfg.Batch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if lctx.Err() != nil {
				break
			}
			x.cfg.Log.Warn("export: fetch", "err", err)
			select {
			case <-lctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		for msg := range batch.Messages() {
			w.add(msg)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && lctx.Err() == nil {
			x.cfg.Log.Debug("export: fetch", "err", err)
		}
		now := x.cfg.Now()
		w.closeFiles(func(hf *hourFile) bool { return !now.Before(hf.deadline) })
		w.save(lctx)
	}
	return w.err
}

// load reads the checkpoint (a zero one when absent) and its revision.
func (x *Exporter) load(ctx context.Context) (checkpoint, uint64, error) {
	var cp checkpoint
	e, err := x.kv.Get(ctx, x.cfg.Name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return cp, 0, nil
	}
	if err != nil {
		return cp, 0, fmt.Errorf("export: checkpoint: %w", err)
	}
	if err := json.Unmarshal(e.Value(), &cp); err != nil {
		return cp, 0, fmt.Errorf("export: checkpoint is not valid JSON: %w", err)
	}
	return cp, e.Revision(), nil
}

// writer is one leadership's export state.
type writer struct {
	x     *Exporter
	cp    checkpoint
	rev   uint64 // of the checkpoint entry; 0: none yet
	dirty bool   // cp changed since saved
	open  map[string]*hourFile
	last  uint64 // highest stream sequence read
	seen  *recent
	line  []byte
	err   error
}

// add writes the events of one message (a batch) to their hours' files.
// A batch's events may belong to different hours (it straddles an hour's
// end): each goes to its own hour's file, and the checkpoint's per-hour
// sequences tell, per hour, whether this message's events of that hour
// are in a closed file already (see the package comment).
func (w *writer) add(msg jetstream.Msg) {
	x := w.x
	md, err := msg.Metadata()
	if err != nil || w.err != nil {
		return
	}
	seq := md.Sequence.Stream
	if seq <= w.last {
		return // an ordered consumer's reset delivers again
	}
	if w.last > 0 && seq > w.last+1 {
		x.cfg.Log.Warn("export: events left the stream (age or size limit) before they were exported",
			"from_seq", w.last+1, "to_seq", seq-1)
	}
	w.last = seq
	h := msg.Headers()
	if id := h.Get(jetstream.MsgIDHeader); id != "" && w.seen.add(id) {
		n := accessstream.MessageEvents(h, msg.Data())
		x.read.Add(int64(n))
		x.skipped.Add(int64(n))
		return
	}
	ok, bad, err := accessstream.DecodeMessage(h, msg.Data(), func(ev *accesslog.Event) { w.event(ev, seq) })
	x.read.Add(int64(ok + bad))
	if bad > 0 {
		x.invalid.Add(int64(bad))
		x.cfg.Log.Warn("export: events that are not access events; skipped", "seq", seq, "skipped", bad, "err", err)
	}
}

// event writes one event of the message at stream sequence seq to its
// hour's file, unless that hour's closed files hold it already.
func (w *writer) event(ev *accesslog.Event, seq uint64) {
	x := w.x
	if w.err != nil {
		return
	}
	hk := hourKey(ev.Time)
	if done, ok := w.cp.Hours[hk]; ok && seq <= done {
		x.skipped.Add(1)
		return
	}
	hf := w.open[hk]
	if hf == nil {
		h, _ := hourStart(hk)
		deadline := h.Add(time.Hour)
		if now := x.cfg.Now(); now.After(deadline) {
			deadline = now
		}
		var err error
		hf, err = openHourFile(x.cfg.Dir, x.cfg.Node, hk, seq, deadline.Add(x.cfg.Grace))
		if err != nil {
			w.err = err
			return
		}
		w.open[hk] = hf
	}
	w.line = append(accesslog.AppendEvent(w.line[:0], ev), '\n')
	if err := hf.write(w.line, seq); err != nil {
		w.err = err
	}
}

// closeFiles renames into place the files for which due says so.
func (w *writer) closeFiles(due func(*hourFile) bool) {
	for k, hf := range w.open {
		if w.err != nil || !due(hf) {
			continue
		}
		delete(w.open, k)
		if err := hf.finish(); err != nil {
			w.err = err
			return
		}
		if w.cp.Hours == nil {
			w.cp.Hours = map[string]uint64{}
		}
		w.cp.Hours[k] = max(w.cp.Hours[k], hf.last)
		w.dirty = true
		w.x.files.Add(1)
		w.x.exported.Add(int64(hf.events))
		w.x.cfg.Log.Info("export: file closed", "file", hf.final, "events", hf.events)
	}
}

// advance moves the checkpoint (in memory) to what is now in closed
// files: every message below the first of an open file's is wholly in
// closed files, also a batch whose events went to several hours.
func (w *writer) advance() {
	floor := w.last
	for _, hf := range w.open {
		floor = min(floor, hf.first-1)
	}
	if floor > w.cp.Seq {
		w.cp.Seq = floor
		w.dirty = true
	}
	for k, s := range w.cp.Hours {
		if s <= w.cp.Seq {
			delete(w.cp.Hours, k)
		}
	}
}

// save moves the checkpoint to what is now in closed files.
func (w *writer) save(ctx context.Context) {
	if w.err != nil {
		return
	}
	w.advance()
	if !w.dirty {
		return
	}
	b, _ := json.Marshal(w.cp)
	var rev uint64
	var err error
	if w.rev == 0 {
		rev, err = w.x.kv.Create(ctx, w.x.cfg.Name, b)
	} else {
		rev, err = w.x.kv.Update(ctx, w.x.cfg.Name, b, w.rev)
	}
	switch {
	case err == nil:
		w.rev, w.dirty = rev, false
	case errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		// Another writer moved the checkpoint: this one is not the writer
		// any more.
		w.err = fmt.Errorf("export: checkpoint changed by another writer: %w", err)
	default:
		w.x.cfg.Log.Warn("export: checkpoint not saved; retrying", "err", err)
	}
}

// recent remembers the last n message ids.
type recent struct {
	set  map[string]struct{}
	ring []string
	next int
}

func newRecent(n int) *recent {
	return &recent{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add reports whether id was seen, and remembers it.
func (r *recent) add(id string) bool {
	if _, ok := r.set[id]; ok {
		return true
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.set[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ring)
	return false
}
