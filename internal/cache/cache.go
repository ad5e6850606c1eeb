package cache

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// Cache statuses of a Result, for access logs and metrics.
const (
	// Hit: served from a fresh stored object.
	Hit = "HIT"
	// Miss: this request started the origin fetch, and the response is
	// being stored.
	Miss = "MISS"
	// Coalesced: this request joined another request's origin fetch, and
	// the response is being stored.
	Coalesced = "COALESCED"
	// Bypass: from the origin, not stored (an uncacheable status or
	// Cache-Control, or larger than Config.MaxObjectBytes).
	Bypass = "BYPASS"
	// Stale: an expired object served because its refresh failed.
	Stale = "STALE"
	// Error: the origin could not be reached or timed out (502, 504), or
	// the cache is closed (503).
	Error = "ERROR"
)

// Errors of Result.Err.
var (
	// ErrTruncated marks a response cut short after its headers were sent,
	// because the origin failed mid-body. The caller should abort the
	// connection (panic(http.ErrAbortHandler) once it has logged), so that
	// the viewer cannot take the short body for a whole one.
	ErrTruncated = errors.New("response truncated: origin failed mid-body")
	// ErrClosed is the cause of requests that needed the origin after Close.
	ErrClosed = errors.New("cache closed")
)

// Internal causes of fetch cancellation.
var (
	errHeaderTimeout = errors.New("origin response header timeout")
	errReadTimeout   = errors.New("origin read timeout")
	errFetchTimeout  = errors.New("origin fetch timeout (FetchTimeout)")
	errTooSlow       = errors.New("origin below the minimum transfer rate (MinRate)")
	errAbandoned     = errors.New("every viewer left")
	errFetchDone     = errors.New("fetch done")
	errLostBytes     = errors.New("pass-through window lost bytes a viewer needs")
)

// Request is what Serve needs of a viewer's request.
type Request struct {
	// Key identifies the object in the cache (route and origin path). The
	// caller guarantees that it never contains a token.
	Key string
	// URL is the absolute origin URL fetched on a miss.
	URL string
	// Method is GET or HEAD ("" means GET).
	Method string
	// Header is the viewer's request header. Only Range, If-Range,
	// If-None-Match and If-Modified-Since are read; nothing is forwarded.
	Header http.Header
}

// Result describes how a request was answered.
type Result struct {
	// Status is the HTTP status sent to the viewer; 0 if the viewer left
	// before anything was sent.
	Status int
	// BodyBytes is the number of body bytes sent.
	BodyBytes int64
	// CacheStatus is Hit, Miss, Coalesced, Bypass, Stale or Error.
	CacheStatus string
	// OriginStatus is the origin's status when this request used an origin
	// response; 0 otherwise.
	OriginStatus int
	// OriginDuration is the time to the origin's response headers, set only
	// for the request that started the fetch.
	OriginDuration time.Duration
	// Err is why the response is incomplete or an error: the origin's
	// failure, the viewer's write error or context, or ErrTruncated.
	Err error
}

// Cache is an in-memory HTTP cache in front of origins. It is safe for
// concurrent use. See the package documentation for its contract.
type Cache struct {
	cfg          Config
	now          func() time.Time
	transport    http.RoundTripper
	ownTransport *http.Transport
	store        *store
	stats        counters
	// readChunk bounds one origin read; passWindow is the memory of a pass
	// flight (see flight). Variables for tests.
	readChunk  int
	passWindow int

	ctx    context.Context // cancelled by Close; parent of every fetch
	cancel context.CancelFunc
	wg     sync.WaitGroup // fetch goroutines

	mu      sync.Mutex
	flights map[string]*flight // fetches that viewers may join
	closed  bool
	once    sync.Once

	// Test hooks: testHookMiss runs when a request missed the store, before
	// it looks for a fetch to join; testHookJoin once it has joined or
	// started one.
	testHookMiss func(r *Request)
	testHookJoin func(r *Request, f *flight, started bool)
}

const (
	defaultReadChunk  = 32 << 10
	defaultPassWindow = 1 << 20
)

// New returns a Cache, or an error naming each Config field out of range.
func New(cfg Config) (*Cache, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Cache{
		cfg:        cfg,
		now:        cfg.Now,
		transport:  cfg.Transport,
		store:      newStore(cfg.MaxBytes),
		readChunk:  defaultReadChunk,
		passWindow: defaultPassWindow,
		flights:    make(map[string]*flight),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.transport == nil {
		c.ownTransport = newTransport(&cfg)
		c.transport = c.ownTransport
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// Serve answers r on w: from the cache when it holds a fresh copy, else
// from a fetch of r.URL shared with every other request for r.Key. It
// returns once the response is written, the viewer's ctx is done or
// writing to w fails.
func (c *Cache) Serve(ctx context.Context, w http.ResponseWriter, r *Request) Result {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case "":
		get := *r
		get.Method = http.MethodGet
		r = &get
	default:
		w.Header().Set("Allow", "GET, HEAD")
		return writeError(w, r, http.StatusMethodNotAllowed, Error, nil)
	}
	now := c.now()
	if o := c.store.get(r.Key); o != nil && o.fresh(now) {
		c.stats.hits.Add(1)
		return c.serveObject(w, r, o, Hit, now)
	}
	if c.testHookMiss != nil {
		c.testHookMiss(r)
	}
	f, wt, o, started := c.join(r)
	switch {
	case o != nil:
		c.stats.hits.Add(1)
		return c.serveObject(w, r, o, Hit, c.now())
	case f == nil:
		return writeError(w, r, http.StatusServiceUnavailable, Error, ErrClosed)
	}
	defer c.leave(f, wt)
	if c.testHookJoin != nil {
		c.testHookJoin(r, f, started)
	}
	if started {
		c.stats.misses.Add(1)
	} else {
		c.stats.coalesced.Add(1)
	}
	res := c.serveFlight(ctx, w, r, f, wt, started)
	if started {
		f.mu.Lock()
		res.OriginDuration = f.originDur
		f.mu.Unlock()
	}
	return res
}

// join finds the fetch of r.Key and registers the caller as its viewer,
// starting the fetch if there is none. If a fresh object appeared
// meanwhile, it returns that instead; if the cache is closed, nothing.
func (c *Cache) join(r *Request) (f *flight, w *waiter, o *object, started bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, nil, false
	}
	if f = c.flights[r.Key]; f != nil {
		if w = f.addWaiter(c.now()); w != nil {
			return f, w, nil, false
		}
		// Not joinable, and about to unpublish itself if it has not.
		delete(c.flights, r.Key)
	}
	// Look again, now that no fetch can start or end unseen: a fetch of
	// this key may have stored its object and left c.flights between the
	// caller's lookup and this lock (it stores before it leaves).
	// Without this second look, that caller would fetch the object again.
	o = c.store.get(r.Key)
	if o != nil && o.fresh(c.now()) {
		return nil, nil, o, false
	}
	f = newFlight(c.ctx, r.Key, r.URL, o, r.Method == http.MethodHead)
	w = f.addWaiter(time.Time{}) // before the fetch starts, so it cannot end first
	c.flights[r.Key] = f
	c.wg.Add(1)
	go c.run(f)
	return f, w, nil, true
}

// leave unregisters a viewer, cancelling the fetch if nobody else waits
// for it.
func (c *Cache) leave(f *flight, w *waiter) {
	if !f.removeWaiter(w) {
		return
	}
	c.unpublish(f)
	f.cancel(errAbandoned)
}

// unpublish stops new viewers from joining f.
func (c *Cache) unpublish(f *flight) {
	c.mu.Lock()
	if c.flights[f.key] == f {
		delete(c.flights, f.key)
	}
	c.mu.Unlock()
}

// Close cancels every origin fetch, waits for them to end and closes idle
// origin connections. Stored objects are still served; requests that need
// the origin get 503. Close is idempotent.
func (c *Cache) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.cancel()
		c.wg.Wait()
		if c.ownTransport != nil {
			c.ownTransport.CloseIdleConnections()
		}
	})
	return nil
}
