package accessstream

import (
	"strconv"
	"sync"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/natsstore"
)

// The intake: Log encodes an event as a binary record (binary.go) into
// its partition's open batch, under that partition's lock, on the
// caller's goroutine. Measured in bench/publish.sh, this costs a loaded
// edge less than queueing the event for the publisher's goroutine to
// encode (which also paid a copy of the event and that goroutine's
// wake-ups), and less than encoding into a scratch buffer and copying the
// record in (BENCHMARKS.md, "After the second fix"). A batch is sealed when
// it is full, there, or once its first event has waited Linger/2, by
// Run's collect ticker (every Linger/2: no event waits longer than
// Linger); Run takes the sealed batches, gives each its message id and
// puts it at the end of the memory tail, to be published or spooled.
//
// Locks: a partition's mu guards its open batch; Publisher.mu guards the
// sealed batches, their counts and the free buffers, and is taken inside
// a partition's mu (once per batch), never the other way round. With a
// lock per partition, Log calls for different sessions do not wait for
// one another on a many-core edge, and an event touches no shared counter.

// openBatch is the batch of one partition being filled.
type openBatch struct {
	buf   []byte    // the batch: binaryMagic, then the events' records
	n     int       // events in buf
	since time.Time // when the first arrived (monotonic)
}

// intake is one partition's open batch and its lock, padded so that two
// partitions never share a cache line.
type intake struct {
	mu sync.Mutex
	b  openBatch
	_  [64]byte
}

// Log queues e for publishing: it encodes the event into its partition's
// batch. It never blocks on the stream or the disk. An event larger than
// 256 KiB encoded, or logged after Run has ended, is dropped and counted;
// so are the events of a batch sealed while the sealed batches Run has
// not taken yet already hold Queue events or QueueBytes (Run is stuck,
// which it is only when it cannot even write the spool). An event without
// a time is stamped now.
func (p *Publisher) Log(e *accesslog.Event) {
	if e.Time.IsZero() {
		c := *e
		c.Time = p.cfg.Now()
		e = &c
	}
	part := partitionOf(e)
	in := &p.parts[part]
	sealed := false
	in.mu.Lock()
	if p.closed.Load() {
		// Checked under the partition's lock: shutdown sets closed, then
		// seals every partition under its lock, so an event either is in
		// a batch before that or is counted here.
		in.mu.Unlock()
		p.dropped.Add(1)
		return
	}
	b := &in.b
	if b.buf == nil {
		b.buf = append(p.buffer(), binaryMagic[:]...)
	}
	start := len(b.buf)
	b.buf = appendRecord(b.buf, e)
	if len(b.buf)-start > maxEventBytes {
		b.buf = b.buf[:start]
		in.mu.Unlock()
		p.dropped.Add(1)
		p.warnTooLarge(e)
		return
	}
	if b.n > 0 && len(b.buf) > p.cfg.BatchBytes {
		// The event does not fit: the batch goes without it, and the
		// event starts the next one.
		next := append(append(p.buffer(), binaryMagic[:]...), b.buf[start:]...)
		b.buf = b.buf[:start]
		p.seal(part, b)
		b.buf = next
		sealed = true
	}
	b.n++
	if b.n == 1 {
		b.since = time.Now()
	}
	if b.n >= p.cfg.Batch || len(b.buf) >= p.cfg.BatchBytes {
		p.seal(part, b)
		sealed = true
	}
	in.mu.Unlock()
	if sealed {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// partitionOf is Partition for an event whose request id may be in its
// binary form, without building the id.
func partitionOf(e *accesslog.Event) int {
	if e.SessionID != "" || e.RequestID != "" || e.RequestPrefix == "" {
		return Partition(e.SessionID, e.RequestID)
	}
	var digits [16]byte // a uint64 has at most 13 digits in base 36
	h := fnv1a(offset32, e.RequestPrefix)
	h = fnv1a(h, strconv.AppendUint(digits[:0], e.RequestSeq, 36))
	return int(h % natsstore.AccessPartitions)
}

// warnTooLarge logs a dropped oversized event, at most once a minute.
func (p *Publisher) warnTooLarge(e *accesslog.Event) {
	now := p.cfg.Now()
	last := p.lastBigLog.Load()
	if now.UnixNano()-last < int64(time.Minute) || !p.lastBigLog.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	p.cfg.Log.Warn("access stream: event too large; dropped", "request_id", e.ID(), "limit", maxEventBytes)
}

// buffer returns an empty buffer for a batch: one of an acknowledged
// batch, or a new one.
func (p *Publisher) buffer() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k := len(p.free); k > 0 {
		b := p.free[k-1]
		p.free[k-1] = nil
		p.free = p.free[:k-1]
		return b[:0]
	}
	return make([]byte, 0, min(p.cfg.BatchBytes, 16<<10))
}

// recycle keeps the buffers of batches done with (acknowledged, or
// copied to the spool), for the next batches.
func (p *Publisher) recycle(recs []record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range recs {
		if len(p.free) < 2*natsstore.AccessPartitions {
			if c := cap(recs[i].data); c >= 1024 && c <= 2*p.cfg.BatchBytes {
				p.free = append(p.free, recs[i].data[:0])
			}
		}
		recs[i].data = nil
	}
}

// seal ends partition part's batch b and hands it to Run; the caller holds
// the partition's lock. When the sealed batches Run has not taken hold
// Queue events or QueueBytes already, the batch is dropped and its events
// counted (its buffer is kept for the next).
func (p *Publisher) seal(part int, b *openBatch) {
	if b.n == 0 {
		return
	}
	p.mu.Lock()
	if len(p.sealed) > 0 && (p.qevents+b.n > p.cfg.Queue || p.qbytes+int64(len(b.buf)) > p.cfg.QueueBytes) {
		if len(p.free) < 2*natsstore.AccessPartitions {
			p.free = append(p.free, b.buf[:0])
		}
		p.mu.Unlock()
		p.dropped.Add(int64(b.n))
		*b = openBatch{}
		return
	}
	p.sealed = append(p.sealed, record{part: part, data: b.buf, n: b.n})
	p.qevents += b.n
	p.qbytes += int64(len(b.buf))
	p.mu.Unlock()
	*b = openBatch{}
}

// collect takes the sealed batches, after sealing those whose first event
// waited at least Linger/2 (lingering) or all of them (all), gives each
// its message id and puts it at the end of the memory tail. Only Run's
// goroutine calls it.
func (p *Publisher) collect(lingering, all bool) {
	if lingering || all {
		now := time.Now()
		for part := range p.parts {
			in := &p.parts[part]
			in.mu.Lock()
			if b := &in.b; b.n > 0 && (all || now.Sub(b.since) >= p.cfg.Linger/2) {
				p.seal(part, b)
			}
			in.mu.Unlock()
		}
	}
	p.mu.Lock()
	p.taken, p.sealed = p.sealed, p.taken[:0]
	p.qevents, p.qbytes = 0, 0
	p.mu.Unlock()
	for i := range p.taken {
		r := p.taken[i]
		n, err := p.seq.take()
		if err != nil {
			p.cfg.Log.Error("access stream: message ids may repeat after a restart", "err", err)
		}
		r.id = p.cfg.EdgeID + ":" + strconv.FormatUint(n, 10)
		p.tail = append(p.tail, r)
		p.tailSize += r.size()
		p.tailEvents += r.n
	}
	clear(p.taken)
}
