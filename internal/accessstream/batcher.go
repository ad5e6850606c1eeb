package accessstream

import (
	"strconv"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/natsstore"
)

// The publisher's batches: each event is encoded into the open batch of
// its partition, which is sealed (numbered and put at the end of the
// memory tail, to be published or spooled) when it is full or has waited
// Linger. Only Run's goroutine uses these.

// openBatch is the batch of one partition being filled.
type openBatch struct {
	buf   []byte    // the events, JSON lines
	n     int       // events in buf
	since time.Time // when the first arrived (monotonic)
}

// take encodes an event into its partition's batch, and seals the batch
// when it is full.
func (p *Publisher) take(e *accesslog.Event) {
	if e.Time.IsZero() {
		e.Time = p.cfg.Now()
	}
	part := Partition(e.SessionID, e.RequestID)
	b := &p.open[part]
	if b.buf == nil {
		b.buf = p.buffer()
	}
	start := len(b.buf)
	b.buf = append(AppendEvent(b.buf, e), '\n')
	if len(b.buf)-start > maxEventBytes {
		b.buf = b.buf[:start]
		p.dropped.Add(1)
		if now := p.cfg.Now(); now.Sub(p.lastBigLog) >= time.Minute {
			p.lastBigLog = now
			p.cfg.Log.Warn("access stream: event too large; dropped", "request_id", e.RequestID, "limit", maxEventBytes)
		}
		return
	}
	if b.n > 0 && len(b.buf) > p.cfg.BatchBytes {
		// The event does not fit: the batch goes without it, and the
		// event starts the next one.
		next := append(p.buffer(), b.buf[start:]...)
		b.buf = b.buf[:start]
		p.seal(part)
		b.buf = next
	}
	b.n++
	if b.n == 1 {
		b.since = time.Now()
		p.opened++
		if !p.lingering {
			p.lingering = true
			p.linger.Reset(p.cfg.Linger)
		}
	}
	if b.n >= p.cfg.Batch || len(b.buf) >= p.cfg.BatchBytes {
		p.seal(part)
	}
}

// buffer returns an empty buffer for a batch: one of an acknowledged
// batch, or a new one.
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
	for i := range recs {
		if len(p.free) >= 2*natsstore.AccessPartitions {
			return
		}
		if c := cap(recs[i].data); c >= 1024 && c <= 2*p.cfg.BatchBytes {
			p.free = append(p.free, recs[i].data[:0])
		}
		recs[i].data = nil
	}
}

// seal ends partition part's batch: it gets its message id and goes to
// the end of the memory tail.
func (p *Publisher) seal(part int) {
	b := &p.open[part]
	if b.n == 0 {
		return
	}
	n, err := p.seq.take()
	if err != nil {
		p.cfg.Log.Error("access stream: message ids may repeat after a restart", "err", err)
	}
	r := record{part: part, id: p.cfg.EdgeID + ":" + strconv.FormatUint(n, 10), data: b.buf, n: b.n}
	*b = openBatch{}
	p.opened--
	p.tail = append(p.tail, r)
	p.tailSize += r.size()
	p.tailEvents += r.n
}

// sealLingering seals the batches whose first event waited at least half
// of Linger (so that one wake-up serves batches opened close together),
// and sets the timer for the oldest of the others: no event waits longer
// than Linger.
func (p *Publisher) sealLingering() {
	if p.opened == 0 {
		return
	}
	now := time.Now()
	var next time.Duration
	for part := range p.open {
		b := &p.open[part]
		if b.n == 0 {
			continue
		}
		waited := now.Sub(b.since)
		if waited >= p.cfg.Linger/2 {
			p.seal(part)
			continue
		}
		if left := p.cfg.Linger - waited; next == 0 || left < next {
			next = left
		}
	}
	if next > 0 {
		p.lingering = true
		p.linger.Reset(next)
	}
}

// sealAll seals every batch being filled.
func (p *Publisher) sealAll() {
	for part := range p.open {
		p.seal(part)
	}
}
