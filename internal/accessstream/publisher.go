package accessstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/smd-media/smd/internal/natsstore"
)

// PublisherConfig configures a [Publisher]. Zero values take the defaults
// named, except SyncInterval.
type PublisherConfig struct {
	// EdgeID starts every message id (required).
	EdgeID string
	// SpoolDir is the spool's directory (required); it also holds the
	// sequence file of the message ids.
	SpoolDir string
	// SpoolMaxBytes bounds the spool's files; past it, events are dropped
	// and counted. Default 1 GiB.
	SpoolMaxBytes int64
	// SegmentBytes is the size at which a new segment file starts.
	// Default 16 MiB.
	SegmentBytes int64
	// SyncInterval is how often spooled events are fsynced: a machine
	// crash (not a process crash) loses at most this much of the spool.
	// 0 fsyncs after every write.
	SyncInterval time.Duration
	// Queue bounds the events of the sealed batches that the publishing
	// goroutine has not taken yet, in number (default 16384) and in bytes
	// of their encoding (QueueBytes, default 32 MiB); the batches being
	// filled hold at most Batch events or BatchBytes each besides. A
	// batch sealed when the queue is full is dropped and its events
	// counted (one batch is always taken): the queue fills only when the
	// goroutine cannot even write the spool.
	Queue      int
	QueueBytes int64
	// Batch is the most events in one message: the events of a
	// partition are published together, as one message (a batch, the
	// unit of publishing, spooling and deduplication), once Batch of them
	// are there, once BatchBytes would be passed, or Linger after the
	// first. Default 128; at most MaxPending.
	Batch int
	// BatchBytes is the most bytes of events in one message (an event
	// larger than that goes alone). Default 64 KiB; at most 512 KiB,
	// below NATS's default max_payload (1 MiB).
	BatchBytes int
	// Linger is the longest an event waits for its batch to fill: a
	// quiet edge's events reach the stream this long after they were
	// logged (when the stream keeps up). Default 20ms; at most 1s.
	Linger time.Duration
	// MaxPending bounds the published events waiting for their
	// acknowledgement (whole batches: up to one batch more). When that
	// many more wait to be published (the stream is slower than the
	// edge), they go to the spool. Default 4096.
	MaxPending int
	// AckTimeout is how long an acknowledgement may take before the
	// publish counts as failed and its events are spooled. Default 5s.
	AckTimeout time.Duration
	// Log receives operational messages; none when nil.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (c *PublisherConfig) defaults() error {
	if c.EdgeID == "" {
		return errors.New("access stream: no edge id")
	}
	if c.SpoolDir == "" {
		return errors.New("access stream: no spool directory")
	}
	if c.SpoolMaxBytes <= 0 {
		c.SpoolMaxBytes = 1 << 30
	}
	if c.SegmentBytes <= 0 {
		c.SegmentBytes = 16 << 20
	}
	c.SegmentBytes = min(c.SegmentBytes, c.SpoolMaxBytes)
	if c.SyncInterval < 0 {
		c.SyncInterval = 0
	}
	if c.Queue <= 0 {
		c.Queue = 16384
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 32 << 20
	}
	if c.Batch <= 0 {
		c.Batch = 128
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 64 << 10
	}
	c.BatchBytes = min(c.BatchBytes, maxBatchBytes)
	if c.Linger <= 0 {
		c.Linger = 20 * time.Millisecond
	}
	c.Linger = min(c.Linger, time.Second)
	if c.MaxPending <= 0 {
		c.MaxPending = 4096
	}
	c.Batch = min(c.Batch, c.MaxPending)
	if c.AckTimeout <= 0 {
		c.AckTimeout = 5 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

const (
	// maxBatchBytes bounds PublisherConfig.BatchBytes.
	maxBatchBytes = 512 << 10
	// maxEventBytes bounds an encoded event: a larger one (only possible
	// with request headers far above the edge's max_header_bytes) is
	// dropped, so that no message can exceed NATS's max_payload and block
	// the spool behind it.
	maxEventBytes = 256 << 10
)

// Publisher sends access events to the stream (see the package comment).
// Log is safe for concurrent use; Run runs the one goroutine that
// publishes and spools.
type Publisher struct {
	cfg      PublisherConfig
	nc       *nats.Conn
	sp       *spool
	seq      *sequence
	subjects [natsstore.AccessPartitions]string

	// The intake (see intake.go): Log fills the open batches under their
	// partition's lock and seals the full ones; Run takes the sealed ones.
	parts   [natsstore.AccessPartitions]intake
	closed  atomic.Bool   // Run ended: Log drops
	mu      sync.Mutex    // guards sealed, qevents, qbytes and free
	sealed  []record      // sealed, not taken by Run yet (no id)
	qevents int           // events in sealed
	qbytes  int64         // their bytes
	free    [][]byte      // buffers of acknowledged batches, to fill again
	wake    chan struct{} // a token when a batch was sealed
	ran     atomic.Bool

	lastBigLog atomic.Int64 // when an oversized event was last logged (Unix ns)

	published, spooled, dropped, spoolBytes, failures atomic.Int64
	spoolErrors, spoolLost                            atomic.Int64

	// Owned by Run's goroutine.
	taken      []record // sealed batches being taken (the slice handed back to sealed)
	tail       []record // sealed batches, in memory, newer than the spool
	tailSize   int
	tailEvents int
	flights    []*flight // published, acknowledgement awaited, in order
	inFlight   int       // events in flights
	results    chan *flight
	acks       *acker
	failing    bool      // a publish failed: send nothing until flights resolve
	retryAt    time.Time // no publishing before
	backoff    time.Duration

	// When an error was last logged, not to flood the log.
	lastFullLog, lastFlushLog time.Time
}

// flight is a group of batches (messages) published together, with one
// timer for their acknowledgements.
type flight struct {
	recs   []record
	events int // in recs
	// at holds the spool position after each of the first len(at)
	// records: those written to the spool (all of a batch read from it,
	// a prefix of one taken from memory once it was copied there).
	at     []pos
	done   bool
	failAt int // first record not acknowledged; -1: all were
	err    error
}

// NewPublisher opens the spool (left by a previous process, if any) and
// returns a publisher on nc. Events are accepted at once; Run publishes.
func NewPublisher(cfg PublisherConfig, nc *nats.Conn) (*Publisher, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if nc == nil {
		return nil, errors.New("access stream: no NATS connection")
	}
	sp, err := openSpool(cfg.SpoolDir, cfg.SpoolMaxBytes, cfg.SegmentBytes, cfg.SyncInterval, cfg.Log)
	if err != nil {
		return nil, err
	}
	seq, err := openSequence(cfg.SpoolDir, cfg.Now())
	if err != nil {
		sp.close()
		return nil, err
	}
	p := &Publisher{cfg: cfg, nc: nc, sp: sp, seq: seq,
		wake: make(chan struct{}, 1), results: make(chan *flight, cfg.MaxPending)}
	for i := range p.subjects {
		p.subjects[i] = Subject(i)
	}
	p.spoolBytes.Store(sp.bytes())
	if !sp.empty() {
		cfg.Log.Info("access spool: events left by a previous run will be sent first", "dir", cfg.SpoolDir, "bytes", sp.bytes())
	}
	return p, nil
}

// Published counts events the stream acknowledged.
func (p *Publisher) Published() int64 { return p.published.Load() }

// Spooled counts events written to the spool.
func (p *Publisher) Spooled() int64 { return p.spooled.Load() }

// Dropped counts events lost: queue full, spool full, damaged spool record
// (counted as one), larger than 256 KiB encoded, or logged after the
// publisher stopped.
func (p *Publisher) Dropped() int64 { return p.dropped.Load() }

// SpoolErrors counts failed writes to the spool (a full disk): the events
// concerned are counted in Dropped.
func (p *Publisher) SpoolErrors() int64 { return p.spoolErrors.Load() }

// SpoolLost counts the events a failed spool write lost after they were
// counted in Spooled; they are counted in Dropped too. Every event logged
// is counted once in Published, Dropped or Spooled - SpoolLost (or is
// still on its way).
func (p *Publisher) SpoolLost() int64 { return p.spoolLost.Load() }

// SpoolBytes is the size of the spool's files.
func (p *Publisher) SpoolBytes() int64 { return p.spoolBytes.Load() }

// PublishFailures counts publishes (of one or more batches) that failed
// or timed out.
func (p *Publisher) PublishFailures() int64 { return p.failures.Load() }

// Run publishes until ctx ends; then it waits briefly for outstanding
// acknowledgements, writes whatever was not acknowledged to the spool
// (sent first by the next run), and returns. It may be called once.
func (p *Publisher) Run(ctx context.Context) error {
	if !p.ran.CompareAndSwap(false, true) {
		return errors.New("access stream: Run called twice")
	}
	var err error
	if p.acks, err = newAcker(p.nc, p.cfg.AckTimeout, p.results); err != nil {
		p.shutdown()
		return fmt.Errorf("access stream: %w", err)
	}
	defer p.acks.close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lingerTick := time.NewTicker(max(p.cfg.Linger/2, time.Millisecond))
	defer lingerTick.Stop()
	for {
		p.fill()
		p.spillIfBehind()
		p.flushSpool()
		select {
		case <-p.wake:
			p.collect(false, false)
		case <-lingerTick.C:
			p.collect(true, false)
		case f := <-p.results:
			p.resolve(f)
		case <-tick.C:
		case <-ctx.Done():
			return p.shutdown()
		}
	}
}

// healthy reports whether publishing may be tried now.
func (p *Publisher) healthy() bool {
	return !p.failing && p.nc.Status() == nats.CONNECTED && !p.cfg.Now().Before(p.retryAt)
}

// fill publishes what it can: the spool first, the memory tail once
// the spool has been read to its end.
func (p *Publisher) fill() {
	for p.healthy() {
		room := p.cfg.MaxPending - p.inFlight
		if room <= 0 {
			return
		}
		if !p.sp.unread() && len(p.tail) == 0 {
			return
		}
		f := &flight{failAt: -1}
		switch {
		case p.sp.unread():
			var skipped int
			var err error
			f.recs, f.at, skipped, err = p.sp.read(room, nil, nil)
			if skipped > 0 {
				p.dropped.Add(int64(skipped))
			}
			if err != nil {
				p.cfg.Log.Error("access spool: cannot read", "err", err)
				p.retryAt = p.cfg.Now().Add(time.Second)
			}
			if len(f.recs) == 0 {
				return
			}
		case len(p.tail) > 0:
			// Whole batches, at least one, up to room events.
			n, events := 0, 0
			for n < len(p.tail) && (n == 0 || events+p.tail[n].n <= room) {
				events += p.tail[n].n
				n++
			}
			f.recs = make([]record, n)
			copy(f.recs, p.tail)
			clear(p.tail[:n])
			p.tail = p.tail[n:]
			for i := range f.recs {
				p.tailSize -= f.recs[i].size()
			}
			p.tailEvents -= events
			if len(p.tail) == 0 {
				p.tail, p.tailSize, p.tailEvents = p.tail[:0:0], 0, 0
			}
		default:
			return
		}
		p.send(f)
	}
}

// send publishes a group of batches; its result comes back on results.
func (p *Publisher) send(f *flight) {
	f.events = events(f.recs)
	p.flights = append(p.flights, f)
	p.inFlight += f.events
	p.acks.send(f, p.subjects[:])
}

// resolve takes a batch whose acknowledgements are all in, and handles
// the batches at the front of the line that are complete.
func (p *Publisher) resolve(f *flight) {
	f.done = true
	for len(p.flights) > 0 && p.flights[0].done {
		f = p.flights[0]
		p.flights[0] = nil
		p.flights = p.flights[1:]
		p.inFlight -= f.events
		if p.failing {
			// After a failure, everything later is sent again.
			p.respool(f, 0)
			p.recycle(f.recs)
			continue
		}
		ok := len(f.recs)
		if f.failAt >= 0 {
			ok = f.failAt
		}
		p.published.Add(int64(events(f.recs[:ok])))
		if k := min(ok, len(f.at)); k > 0 {
			p.sp.commit(f.at[k-1])
		}
		if f.failAt >= 0 {
			p.failures.Add(1)
			p.failing = true
			p.cfg.Log.Warn("access stream: publish failed; spooling until the stream answers",
				"err", f.err, "events", f.events-events(f.recs[:ok]))
			p.respool(f, ok)
		}
		p.recycle(f.recs)
	}
	if p.failing && len(p.flights) == 0 {
		// Every batch after the failure has resolved: read the spool again
		// from the last acknowledged event, after a pause.
		p.failing = false
		p.sp.resetRead()
		p.backoff = min(max(2*p.backoff, 250*time.Millisecond), 5*time.Second)
		p.retryAt = p.cfg.Now().Add(p.backoff)
	} else if !p.failing && len(p.flights) == 0 {
		p.backoff = 0
	}
	p.spoolBytes.Store(p.sp.bytes())
}

// respool writes to the spool the records of f from index from on that
// are not there yet (they were taken from memory): they are newer than
// everything the spool holds (see spill), so order is kept. f is done
// with afterwards.
func (p *Publisher) respool(f *flight, from int) {
	from = max(from, len(f.at))
	if from >= len(f.recs) {
		return
	}
	n, _, err := p.sp.append(f.recs[from:], nil)
	p.spooled.Add(int64(events(f.recs[from : from+n])))
	if n < len(f.recs)-from {
		p.dropped.Add(int64(events(f.recs[from+n:])))
		p.logSpoolError(err)
	}
	p.settleLost()
}

// spillIfBehind moves the memory tail to the spool when publishing is not
// possible, or is too far behind.
func (p *Publisher) spillIfBehind() {
	if len(p.tail) == 0 {
		return
	}
	if p.healthy() && p.tailEvents < p.cfg.MaxPending && int64(p.tailSize) < p.cfg.QueueBytes {
		return
	}
	p.spill()
}

// spill writes to the spool, in order: the records in flight that came
// from memory and are not in the spool yet (copies: if they are
// acknowledged, the commit moves past the copies; if not, they are read
// again from the spool in their place), then the memory tail. Afterwards
// the memory tail is empty and nothing in flight lacks its copy, which is
// what respool relies on: records from memory are newer than the spool.
func (p *Publisher) spill() {
	atEnd := !p.sp.unread()
	for _, f := range p.flights {
		if len(f.at) >= len(f.recs) {
			continue
		}
		from := len(f.at)
		n, at, err := p.sp.append(f.recs[from:], f.at)
		f.at = at
		p.spooled.Add(int64(events(f.recs[from : from+n])))
		if err != nil {
			// The tail cannot go after copies that are missing.
			p.settleLost()
			p.logSpoolError(err)
			p.dropped.Add(int64(p.tailEvents))
			p.clearTail()
			return
		}
	}
	if atEnd {
		// The copies are in flight already: the reader skips them.
		p.sp.rpos = p.sp.end()
	}
	n, _, err := p.sp.append(p.tail, nil)
	p.spooled.Add(int64(events(p.tail[:n])))
	if n < len(p.tail) {
		p.dropped.Add(int64(events(p.tail[n:])))
		p.logSpoolError(err)
	}
	p.settleLost()
	p.clearTail()
	p.spoolBytes.Store(p.sp.bytes())
}

// clearTail empties the memory tail, whose batches are in the spool (or
// were dropped).
func (p *Publisher) clearTail() {
	p.recycle(p.tail)
	clear(p.tail)
	p.tail, p.tailSize, p.tailEvents = p.tail[:0], 0, 0
}

// logSpoolError counts and logs a spool error, at most once a minute for
// each kind: the spool at its bound, or a write that failed (a full disk).
func (p *Publisher) logSpoolError(err error) {
	if err == nil {
		return
	}
	now := p.cfg.Now()
	last := &p.lastFullLog
	if !errors.Is(err, errSpoolFull) {
		p.spoolErrors.Add(1)
		last = &p.lastFlushLog
	}
	if now.Sub(*last) < time.Minute {
		return
	}
	*last = now
	p.cfg.Log.Error("access spool: events dropped", "err", err, "dir", p.cfg.SpoolDir, "bytes", p.sp.bytes())
}

// flushSpool writes buffered spool records out (and fsyncs per policy).
func (p *Publisher) flushSpool() {
	err := p.sp.flush(p.cfg.Now())
	p.settleLost()
	if err != nil {
		p.spoolErrors.Add(1)
		now := p.cfg.Now()
		if now.Sub(p.lastFlushLog) >= time.Minute {
			p.lastFlushLog = now
			p.cfg.Log.Error("access spool: write failed; events dropped until it works again", "err", err, "dir", p.cfg.SpoolDir)
		}
	}
}

// settleLost counts the events a failed spool write lost (counted
// spooled before) as dropped too: Spooled stays a counter.
func (p *Publisher) settleLost() {
	if lost := p.sp.takeLost(); lost > 0 {
		p.spoolLost.Add(int64(lost))
		p.dropped.Add(int64(lost))
	}
}

// shutdown ends Run: it refuses new events, waits a little for the
// acknowledgements outstanding, and writes what remains to the spool.
func (p *Publisher) shutdown() error {
	p.closed.Store(true)
	// The batches being filled go now, while the stream answers.
	p.collect(false, true)
	if p.acks != nil {
		p.fill()
	}
	wait := time.NewTimer(min(p.cfg.AckTimeout, 2*time.Second))
	defer wait.Stop()
	for len(p.flights) > 0 && !p.failing {
		select {
		case f := <-p.results:
			p.resolve(f)
			continue
		case <-wait.C:
		}
		break
	}
	// Unacknowledged batches read from the spool stay there (the head was
	// not moved past them); the others are copied now, then the tail.
	p.spill()
	err := p.sp.close()
	p.spoolBytes.Store(p.sp.bytes())
	return err
}
