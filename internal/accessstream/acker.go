package accessstream

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// acker publishes groups of messages (batches of events) to JetStream
// asynchronously and collects their acknowledgements. It does what jetstream's PublishAsync does, for a
// fraction of the CPU (which on an edge is taken from serving): one reply
// subscription, the reply subject naming the group and the message, the
// acknowledgement checked for an error without decoding it, one timer per
// group instead of one per message, no channel per message.
type acker struct {
	nc      *nats.Conn
	prefix  string // reply subjects: <prefix><flight>.<index>
	timeout time.Duration
	results chan<- *flight
	sub     *nats.Subscription
	status  chan nats.Status

	mu      sync.Mutex
	pending map[uint64]*flightAcks
	next    uint64
}

// flightAcks is the acknowledgement state of one published flight.
type flightAcks struct {
	f      *flight
	acked  []bool
	left   int
	failAt int // lowest record that failed; -1 none
	err    error
	timer  *time.Timer
}

var (
	errAckTimeout   = errors.New("timeout waiting for the stream's acknowledgement")
	errDisconnected = errors.New("nats connection lost before the acknowledgement")
	errNoResponders = errors.New("no responders: the stream is not available")
)

func newAcker(nc *nats.Conn, timeout time.Duration, results chan<- *flight) (*acker, error) {
	a := &acker{nc: nc, prefix: nc.NewInbox() + ".", timeout: timeout, results: results,
		pending: map[uint64]*flightAcks{}}
	sub, err := nc.Subscribe(a.prefix+"*.*", a.onReply)
	if err != nil {
		return nil, err
	}
	sub.SetPendingLimits(-1, -1)
	a.sub = sub
	// Acknowledgements in flight when the connection drops never come.
	a.status = nc.StatusChanged(nats.RECONNECTING, nats.CLOSED)
	go func() {
		for range a.status {
			a.failAll(errDisconnected)
		}
	}()
	return a, nil
}

// send publishes f's records; its result goes to results once every
// record is acknowledged, or at the first failure, timeout or disconnect.
func (a *acker) send(f *flight, subjects []string) {
	a.mu.Lock()
	id := a.next
	a.next++
	b := &flightAcks{f: f, acked: make([]bool, len(f.recs)), left: len(f.recs), failAt: -1}
	a.pending[id] = b
	b.timer = time.AfterFunc(a.timeout, func() { a.finish(id, errAckTimeout) })
	a.mu.Unlock()
	base := a.prefix + strconv.FormatUint(id, 36) + "."
	for i := range f.recs {
		r := &f.recs[i]
		m := &nats.Msg{Subject: subjects[r.part%len(subjects)], Reply: base + strconv.Itoa(i), Data: r.data,
			Header: nats.Header{
				jetstream.MsgIDHeader: []string{r.id},
				HeaderFormat:          batchFormat(r.data),
				HeaderEvents:          []string{strconv.Itoa(r.n)},
			}}
		if err := a.nc.PublishMsg(m); err != nil {
			a.mu.Lock()
			if b.failAt < 0 || i < b.failAt {
				b.failAt, b.err = i, err
			}
			a.mu.Unlock()
			a.finish(id, err)
			return
		}
	}
}

// onReply takes one acknowledgement.
func (a *acker) onReply(m *nats.Msg) {
	rest := strings.TrimPrefix(m.Subject, a.prefix)
	ids, idx, ok := strings.Cut(rest, ".")
	if !ok {
		return
	}
	id, err1 := strconv.ParseUint(ids, 36, 64)
	i, err2 := strconv.Atoi(idx)
	if err1 != nil || err2 != nil {
		return
	}
	var fail error
	switch {
	case len(m.Data) == 0:
		// A status message: 503 no responders (no stream for the subject,
		// or JetStream electing a leader).
		fail = errNoResponders
	case bytes.Contains(m.Data, []byte(`"error"`)):
		fail = errors.New("stream refused the event: " + string(m.Data))
	}
	a.mu.Lock()
	b := a.pending[id]
	if b == nil || i < 0 || i >= len(b.acked) || b.acked[i] {
		a.mu.Unlock()
		return
	}
	b.acked[i] = true
	b.left--
	if fail != nil && (b.failAt < 0 || i < b.failAt) {
		b.failAt, b.err = i, fail
	}
	done := b.left == 0
	a.mu.Unlock()
	if done {
		a.finish(id, nil)
	}
}

// finish resolves flight id: a failure at the first message not
// acknowledged (or that failed), if any.
func (a *acker) finish(id uint64, err error) {
	a.mu.Lock()
	b := a.pending[id]
	if b == nil {
		a.mu.Unlock()
		return
	}
	delete(a.pending, id)
	a.mu.Unlock()
	b.timer.Stop()
	f := b.f
	f.failAt, f.err = b.failAt, b.err
	for i, ok := range b.acked {
		if !ok && (f.failAt < 0 || i < f.failAt) {
			f.failAt, f.err = i, err
			break
		}
	}
	a.results <- f // never blocks: at most MaxPending flights
}

// failAll resolves every flight.
func (a *acker) failAll(err error) {
	a.mu.Lock()
	ids := make([]uint64, 0, len(a.pending))
	for id := range a.pending {
		ids = append(ids, id)
	}
	a.mu.Unlock()
	for _, id := range ids {
		a.finish(id, err)
	}
}

// close stops taking acknowledgements.
func (a *acker) close() {
	a.sub.Unsubscribe()
	a.nc.RemoveStatusListener(a.status)
}
