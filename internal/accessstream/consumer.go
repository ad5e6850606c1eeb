package accessstream

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/lease"
	"github.com/smd-media/smd/internal/natsstore"
)

// Handler receives the events of the partitions this process owns. It is
// called from one goroutine per owned partition: calls for one partition
// are sequential, in stream order; calls for different partitions run
// concurrently. The event is the handler's to keep. A message (a batch of
// events) is acknowledged when the handler has returned for each of its
// events: a process that dies inside the handler gets the whole batch
// again (in another process, after AckWait), the events handled before
// too.
type Handler func(partition int, ev *accesslog.Event)

// ConsumerConfig configures a [Consumer].
type ConsumerConfig struct {
	// JS reaches the SMD_ACCESS stream (required).
	JS jetstream.JetStream
	// Leases is the bucket of the partition leases and of the member
	// entries: smd_leases, whose entries expire (required).
	Leases jetstream.KeyValue
	// Handler receives the events (required).
	Handler Handler
	// Name names the durable consumers, <Name>_<N> for partition N, and
	// prefixes the keys in Leases: <Name>.p.<N> (owner of partition N),
	// <Name>.m.<member> (live members). Default "smd_detect". Consumers
	// with different names (the detector, another reader) each get every
	// event.
	Name string
	// Member identifies this process; default lease.DefaultHolder().
	Member string
	// Partitions is the number of partitions; default
	// natsstore.AccessPartitions (the publishers' number).
	Partitions int
	// StartBack applies when a partition's durable consumer is created
	// (the first time any process reads it): it then starts with the
	// events stored this long ago. 0 starts with everything the stream
	// holds.
	StartBack time.Duration
	// Replay is the takeover rule for in-window state. A process that
	// acquires a partition (another process stopped or died, the
	// partitions were rebalanced, or this process restarted) lacks the
	// state its handler built from that partition's earlier events. With
	// Replay > 0 it first hands the handler again the events the stream
	// stored in the last Replay before the durable consumer's
	// acknowledged position (those the previous owner already handled),
	// then goes on with the durable consumer. The handler then sees those
	// events twice across the cluster, but once in this process: a
	// detector rebuilds its window and may repeat a revocation (which is
	// idempotent). 0: no replay; the new owner starts with an empty state.
	Replay time.Duration
	// Dedup is how many message ids (batches) each partition remembers
	// to drop a duplicate (an edge's resend past the stream's duplicate
	// window, a redelivery). Default 16384; negative turns it off.
	Dedup int
	// AckWait is how long a delivered message may wait for its
	// acknowledgement before the stream delivers it again. Default 30s.
	AckWait time.Duration
	// MaxAckPending bounds the unacknowledged messages (batches of up to
	// the edges' access_stream.batch events) of a partition. Default 256.
	MaxAckPending int
	// Batch is how many messages one pull asks for. Default 32.
	Batch int
	// Tick is how often ownership is reviewed and the leases renewed;
	// default, and at most, a third of the leases' TTL.
	Tick time.Duration
	// Log receives operational messages; none when nil.
	Log *slog.Logger
}

// Consumer delivers the events of the partitions this process owns to a
// handler (see the package comment). Ownership: each review, a process
// refreshes its member entry, counts the live members M, and holds at
// most ceil(P/M) partition leases: it releases the excess (so that a
// newcomer gets its share) and acquires free partitions up to its share,
// trying them from an offset given by its member id so that processes
// starting together collide little. A dead process's leases and member
// entry expire after the bucket's TTL, and the others take its partitions.
type Consumer struct {
	cfg    ConsumerConfig
	ttl    time.Duration
	member string // as used in keys
	// lastMembers is the last count of live members, used when the
	// listing fails.
	lastMembers int

	mu    sync.Mutex
	owned map[int]*partition
	// seen holds each partition's recent message ids; it outlives a loss
	// of the partition, so that the redeliveries that follow the partition
	// coming back (acknowledgements lost with the connection) are caught.
	seen map[int]*recent

	delivered, duplicates, invalid, replayed atomic.Int64
}

// partition is an owned partition's lease and delivery goroutine.
type partition struct {
	n int
	// pending is the stream's messages after the last one handled, as its
	// metadata said (the consumer's backlog on this partition).
	pending atomic.Int64
	lease   *lease.Lease
	ctx     context.Context // of the delivery; cancelled by expire too
	cancel  context.CancelFunc
	// expire cancels delivery at the lease's local deadline unless a
	// renewal moved it.
	expire *time.Timer
	done   chan struct{}
}

// NewConsumer checks cfg and reads the leases' TTL.
func NewConsumer(ctx context.Context, cfg ConsumerConfig) (*Consumer, error) {
	if cfg.JS == nil || cfg.Leases == nil || cfg.Handler == nil {
		return nil, errors.New("access consumer: JS, Leases and Handler are required")
	}
	if cfg.Name == "" {
		cfg.Name = "smd_detect"
	}
	if cfg.Member == "" {
		cfg.Member = lease.DefaultHolder()
	}
	if cfg.Partitions <= 0 {
		cfg.Partitions = natsstore.AccessPartitions
	}
	if cfg.Dedup == 0 {
		cfg.Dedup = 16384
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MaxAckPending <= 0 {
		cfg.MaxAckPending = 256
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 32
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	st, err := cfg.Leases.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("access consumer: leases bucket: %w", err)
	}
	if st.TTL() <= 0 {
		return nil, fmt.Errorf("access consumer: bucket %s: %w", cfg.Leases.Bucket(), lease.ErrNoTTL)
	}
	c := &Consumer{cfg: cfg, ttl: st.TTL(), member: keyPart(cfg.Member), owned: map[int]*partition{}, seen: map[int]*recent{}, lastMembers: 1}
	if c.cfg.Tick <= 0 || c.cfg.Tick > c.ttl/3 {
		c.cfg.Tick = c.ttl / 3
	}
	c.cfg.Log = c.cfg.Log.With("consumer", cfg.Name, "member", cfg.Member)
	return c, nil
}

// keyPart makes s usable in a KV key.
func keyPart(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '=' {
			return r
		}
		return '_'
	}, s)
}

// Delivered counts events handed to the handler (replays included).
func (c *Consumer) Delivered() int64 { return c.delivered.Load() }

// Duplicates counts events dropped because their message id was seen.
func (c *Consumer) Duplicates() int64 { return c.duplicates.Load() }

// Invalid counts events that could not be decoded: lines of a batch that
// are not access events (the batch's other events are delivered), and the
// events of a message in an unknown format (terminated).
func (c *Consumer) Invalid() int64 { return c.invalid.Load() }

// Replayed counts events handed again at a takeover (see Replay).
func (c *Consumer) Replayed() int64 { return c.replayed.Load() }

// Pending returns the messages of the owned partitions still to be read
// after the last one handled on each (0 when caught up): the detector's
// backlog.
func (c *Consumer) Pending() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, p := range c.owned {
		n += p.pending.Load()
	}
	return n
}

// Owned returns the partitions this process owns, ascending.
func (c *Consumer) Owned() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]int, 0, len(c.owned))
	for n := range c.owned {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Run reviews ownership every Tick until ctx ends; then it stops
// delivering, releases its leases and its member entry, and returns nil.
func (c *Consumer) Run(ctx context.Context) error {
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	for {
		c.review(ctx)
		select {
		case <-ctx.Done():
			c.stopAll()
			return nil
		case <-t.C:
		}
	}
}

func (c *Consumer) memberKey() string { return c.cfg.Name + ".m." + c.member }
func (c *Consumer) leaseKey(n int) string {
	return c.cfg.Name + ".p." + strconv.Itoa(n)
}

// review renews the leases held, and releases or acquires partitions to
// hold this process's share.
func (c *Consumer) review(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.Tick)
	defer cancel()
	if _, err := c.cfg.Leases.Put(rctx, c.memberKey(), []byte(c.cfg.Member)); err != nil && ctx.Err() == nil {
		c.cfg.Log.Warn("access consumer: cannot refresh the member entry", "err", err)
	}
	members := c.members(rctx)

	// Renew, dropping what was lost.
	for _, n := range c.Owned() {
		p := c.get(n)
		if p.ctx.Err() != nil {
			// Stopped at the lease's deadline: give the lease up (if it is
			// still ours) and contend again below, with a fresh start.
			c.stop(p, true)
			continue
		}
		start := time.Now()
		err := p.lease.Renew(rctx)
		switch {
		case err == nil:
			p.expire.Reset(time.Until(start.Add(c.ttl - c.ttl/5)))
		case errors.Is(err, lease.ErrLost) || !p.lease.Held():
			c.cfg.Log.Warn("access consumer: partition lost", "partition", n, "err", err)
			c.stop(p, false)
		}
	}
	share := (c.cfg.Partitions + members - 1) / members
	owned := c.Owned()
	// Give back the excess, from the end, so that newcomers get theirs.
	for i := len(owned) - 1; i >= share; i-- {
		c.cfg.Log.Info("access consumer: releasing a partition to rebalance", "partition", owned[i], "members", members)
		c.stop(c.get(owned[i]), true)
	}
	if len(owned) >= share || ctx.Err() != nil {
		return
	}
	h := fnv.New32a()
	h.Write([]byte(c.cfg.Member))
	off := int(h.Sum32() % uint32(c.cfg.Partitions))
	have := len(owned)
	for i := 0; i < c.cfg.Partitions && have < share; i++ {
		n := (off + i) % c.cfg.Partitions
		if c.get(n) != nil {
			continue
		}
		l, err := lease.New(rctx, c.cfg.Leases, lease.Config{Name: c.leaseKey(n), Holder: c.cfg.Member, TTL: c.ttl})
		if err != nil {
			c.cfg.Log.Warn("access consumer: lease", "partition", n, "err", err)
			return
		}
		start := time.Now()
		ok, err := l.TryAcquire(rctx)
		if err != nil {
			if ctx.Err() == nil {
				c.cfg.Log.Warn("access consumer: cannot contend for a partition", "partition", n, "err", err)
			}
			return
		}
		if !ok {
			continue
		}
		c.start(ctx, n, l, start.Add(c.ttl-c.ttl/5))
		have++
	}
}

// members counts the live member entries (at least this one).
func (c *Consumer) members(ctx context.Context) int {
	kl, err := c.cfg.Leases.ListKeysFiltered(ctx, c.cfg.Name+".m.>")
	if err != nil {
		return c.lastMembers
	}
	n := 0
	self := false
	for k := range kl.Keys() {
		n++
		self = self || k == c.memberKey()
	}
	if !self {
		n++
	}
	c.lastMembers = n
	return n
}

func (c *Consumer) get(n int) *partition {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.owned[n]
}

// start begins delivering partition n, held through l until deadline
// unless renewed.
func (c *Consumer) start(ctx context.Context, n int, l *lease.Lease, deadline time.Time) {
	pctx, cancel := context.WithCancel(ctx)
	p := &partition{n: n, lease: l, ctx: pctx, cancel: cancel, done: make(chan struct{})}
	p.expire = time.AfterFunc(time.Until(deadline), func() {
		c.cfg.Log.Error("access consumer: lease not renewed in time; stopping the partition", "partition", n)
		cancel()
	})
	c.mu.Lock()
	c.owned[n] = p
	c.mu.Unlock()
	c.cfg.Log.Info("access consumer: partition acquired", "partition", n)
	go func() {
		defer close(p.done)
		c.deliver(pctx, n)
	}()
}

// stop ends delivery of p (waiting for it), then gives the lease back when
// release is set (else it was lost already).
func (c *Consumer) stop(p *partition, release bool) {
	p.cancel()
	p.expire.Stop()
	<-p.done
	c.mu.Lock()
	delete(c.owned, p.n)
	c.mu.Unlock()
	if release {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := p.lease.Release(rctx); err != nil {
			c.cfg.Log.Warn("access consumer: lease not released; it expires after its TTL", "partition", p.n, "err", err)
		}
		cancel()
	}
}

func (c *Consumer) stopAll() {
	var wg sync.WaitGroup
	for _, n := range c.Owned() {
		p := c.get(n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stop(p, true)
		}()
	}
	wg.Wait()
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.cfg.Leases.Delete(rctx, c.memberKey()); err != nil {
		c.cfg.Log.Warn("access consumer: member entry not deleted; it expires after its TTL", "err", err)
	}
}

// deliver reads partition n until ctx ends, recreating the durable
// consumer if it disappears.
func (c *Consumer) deliver(ctx context.Context, n int) {
	c.mu.Lock()
	seen, ok := c.seen[n]
	if !ok {
		seen = newRecent(c.cfg.Dedup)
		c.seen[n] = seen
	}
	c.mu.Unlock()
	wait := 250 * time.Millisecond
	replayed := false
	for ctx.Err() == nil {
		cons, err := c.durable(ctx, n)
		if err == nil {
			if !replayed && c.cfg.Replay > 0 {
				replayed = true
				if err := c.replay(ctx, n, cons, seen); err != nil && ctx.Err() == nil {
					c.cfg.Log.Warn("access consumer: replay incomplete", "partition", n, "err", err)
				}
			}
			err = c.read(ctx, n, cons, seen)
			if err == nil {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		c.cfg.Log.Warn("access consumer: reading a partition; retrying", "partition", n, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// durable returns partition n's durable consumer, creating it the first
// time.
func (c *Consumer) durable(ctx context.Context, n int) (jetstream.Consumer, error) {
	name := c.cfg.Name + "_" + strconv.Itoa(n)
	for {
		cons, err := c.cfg.JS.Consumer(ctx, natsstore.StreamAccess, name)
		if err == nil {
			return cons, nil
		}
		if !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, err
		}
		cfg := jetstream.ConsumerConfig{
			Durable:       name,
			Description:   "smd access events of partition " + strconv.Itoa(n) + " for " + c.cfg.Name,
			FilterSubject: Subject(n),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       c.cfg.AckWait,
			MaxAckPending: c.cfg.MaxAckPending,
			DeliverPolicy: jetstream.DeliverAllPolicy,
		}
		if c.cfg.StartBack > 0 {
			t := time.Now().Add(-c.cfg.StartBack)
			cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
		}
		cons, err = c.cfg.JS.CreateConsumer(ctx, natsstore.StreamAccess, cfg)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			continue // created meanwhile by another process
		}
		return cons, err
	}
}

// read delivers from the durable consumer until ctx ends (nil) or the
// consumer fails (an error). On the way out, events fetched but not
// handed over are returned to the stream at once (nak), for the next
// owner, and the acknowledgements are flushed.
func (c *Consumer) read(ctx context.Context, n int, cons jetstream.Consumer, seen *recent) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(c.cfg.Batch))
	if err != nil {
		return err
	}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			it.Drain()
		case <-stopped:
		}
	}()
	defer close(stopped)
	defer c.cfg.JS.Conn().FlushTimeout(2 * time.Second)
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				it.Stop()
				return err
			}
			if ctx.Err() != nil {
				continue // draining
			}
			c.cfg.Log.Debug("access consumer: pull", "partition", n, "err", err)
			continue
		}
		if ctx.Err() != nil {
			msg.Nak()
			continue
		}
		c.handle(n, msg, seen)
	}
}

// handle hands the events of one message to the handler and acknowledges
// it. Lines that are not access events are counted and skipped; a message
// without a single valid event is terminated.
func (c *Consumer) handle(n int, msg jetstream.Msg, seen *recent) {
	h := msg.Headers()
	if id := h.Get(jetstream.MsgIDHeader); id != "" && seen.add(id) {
		c.duplicates.Add(int64(MessageEvents(h, msg.Data())))
		msg.Ack()
		return
	}
	ok, bad, err := DecodeMessage(h, msg.Data(), func(ev *accesslog.Event) {
		c.cfg.Handler(n, ev)
		c.delivered.Add(1)
	})
	if bad > 0 {
		c.invalid.Add(int64(bad))
		c.cfg.Log.Warn("access consumer: events that are not access events; dropped", "partition", n,
			"dropped", bad, "delivered", ok, "msg_id", h.Get(jetstream.MsgIDHeader), "err", err)
	}
	if md, err := msg.Metadata(); err == nil {
		if p := c.get(n); p != nil {
			p.pending.Store(int64(md.NumPending))
		}
	}
	if ok == 0 {
		msg.Term()
		return
	}
	msg.Ack()
}

// replay hands the handler the events of partition n stored in the last
// Replay up to the durable consumer's acknowledged position.
func (c *Consumer) replay(ctx context.Context, n int, cons jetstream.Consumer, seen *recent) error {
	info, err := cons.Info(ctx)
	if err != nil {
		return err
	}
	floor := info.AckFloor.Stream
	if floor == 0 {
		return nil
	}
	from := time.Now().Add(-c.cfg.Replay)
	oc, err := c.cfg.JS.OrderedConsumer(ctx, natsstore.StreamAccess, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{Subject(n)},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &from,
	})
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := oc.Fetch(c.cfg.Batch, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return err
		}
		got, past := 0, false
		for msg := range batch.Messages() {
			got++
			md, err := msg.Metadata()
			if err != nil || md.Sequence.Stream > floor {
				past = true
				continue
			}
			h := msg.Headers()
			if id := h.Get(jetstream.MsgIDHeader); id != "" && seen.add(id) {
				continue
			}
			DecodeMessage(h, msg.Data(), func(ev *accesslog.Event) {
				c.cfg.Handler(n, ev)
				c.replayed.Add(1)
				c.delivered.Add(1)
			})
		}
		if got == 0 || past {
			return batch.Error()
		}
	}
	return nil
}

// recent remembers the last n message ids.
type recent struct {
	set  map[string]struct{}
	ring []string
	next int
}

func newRecent(n int) *recent {
	if n <= 0 {
		return nil
	}
	return &recent{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add reports whether id was seen, and remembers it.
func (r *recent) add(id string) bool {
	if r == nil {
		return false
	}
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
