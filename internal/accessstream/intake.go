package accessstream

import (
	"strconv"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/natsstore"
)

// The intake: Log encodes an event as a binary record (binary.go) into
// its partition's open batch, under mu, on the caller's goroutine, where
// the event's fields are still in the processor's cache (the publisher's
// goroutine took three times as long to encode the same events, in
// bench/publish.sh). A batch is sealed when it is full, there, or once its first
// event has waited Linger/2, by Run's collect ticker (every Linger/2: no
// event waits longer than Linger); Run takes the sealed batches, gives
// each its message id and puts it at the end of the memory tail, to be
// published or spooled.

// openBatch is the batch of one partition being filled.
type openBatch struct {
	buf   []byte    // the batch: binaryMagic, then the events' records
	n     int       // events in buf
	since time.Time // when the first arrived (monotonic)
}

// Log queues e for publishing: it encodes the event into its partition's
// batch, under mu (an event is about 70 ns to encode; encoding it
// elsewhere first and copying it in cost more, in bench/publish.sh). It
// never blocks on the stream or the disk: when the events not yet taken by
// Run reach Queue or QueueBytes (Run is stuck, which it is only when it
// cannot even write the spool), when the record is larger than 256 KiB,
// or after Run has ended, the event is dropped and counted. An event
// without a time is stamped now.
func (p *Publisher) Log(e *accesslog.Event) {
	if e.Time.IsZero() {
		c := *e
		c.Time = p.cfg.Now()
		e = &c
	}
	part := partitionOf(e)
	sealed := false
	p.mu.Lock()
	if p.closed || p.qevents >= p.cfg.Queue || p.qbytes >= p.cfg.QueueBytes {
		p.mu.Unlock()
		p.dropped.Add(1)
		return
	}
	b := &p.open[part]
	if b.buf == nil {
		b.buf = append(p.buffer(), binaryMagic[:]...)
	}
	start := len(b.buf)
	b.buf = appendRecord(b.buf, e)
	n := len(b.buf) - start
	if n > maxEventBytes {
		b.buf = b.buf[:start]
		p.mu.Unlock()
		p.dropped.Add(1)
		p.warnTooLarge(e)
		return
	}
	if b.n > 0 && len(b.buf) > p.cfg.BatchBytes {
		// The event does not fit: the batch goes without it, and the
		// event starts the next one.
		next := append(append(p.buffer(), binaryMagic[:]...), b.buf[start:]...)
		b.buf = b.buf[:start]
		p.seal(part)
		b.buf = next
		sealed = true
	}
	b.n++
	if b.n == 1 {
		b.since = time.Now()
	}
	p.qevents++
	p.qbytes += int64(n)
	if b.n >= p.cfg.Batch || len(b.buf) >= p.cfg.BatchBytes {
		p.seal(part)
		sealed = true
	}
	p.mu.Unlock()
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
// batch, or a new one. The caller holds mu.
func (p *Publisher) buffer() []byte {
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

// seal ends partition part's batch and hands it to Run. The caller holds
// mu.
func (p *Publisher) seal(part int) {
	b := &p.open[part]
	if b.n == 0 {
		return
	}
	p.sealed = append(p.sealed, record{part: part, data: b.buf, n: b.n})
	*b = openBatch{}
}

// collect takes the sealed batches, after sealing those whose first event
// waited at least Linger/2 (lingering) or all of them (all), gives each
// its message id and puts it at the end of the memory tail. Only Run's
// goroutine calls it.
func (p *Publisher) collect(lingering, all bool) {
	p.mu.Lock()
	if lingering || all {
		now := time.Now()
		for part := range p.open {
			if b := &p.open[part]; b.n > 0 && (all || now.Sub(b.since) >= p.cfg.Linger/2) {
				p.seal(part)
			}
		}
	}
	p.taken, p.sealed = p.sealed, p.taken[:0]
	for i := range p.taken {
		p.qevents -= p.taken[i].n
		p.qbytes -= int64(len(p.taken[i].data))
	}
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
