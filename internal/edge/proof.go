package edge

import (
	"strings"
	"sync"

	"github.com/smd-media/smd/token/smde"
)

// revokedScanner is a revoked set that can be walked: the NATS watcher's
// and the file's.
type revokedScanner interface {
	Version() uint64
	Each(fn func(id string) bool)
}

// proofScans remembers, per JWT, when the revoked set was last scanned for
// its session, so that a JWT is scanned again only once the set has had
// an addition, and at most once a second.
type proofScans struct {
	mu sync.Mutex
	m  map[string]proofScan
	// The edge's budget: at most maxScansPerSecond scans a second, so that
	// many tokens at once cannot spend the CPU (a scan costs about 0.9 µs
	// per revoked id: 9 ms at 10,000, BenchmarkProveAgainstRevoked).
	second int64
	count  int
}

// maxScansPerSecond bounds the scans of the whole edge.
const maxScansPerSecond = 8

type proofScan struct {
	version uint64
	at      int64 // Unix nanoseconds
}

// maxProofScans bounds the memory of proofScans: past it, it starts over.
const maxProofScans = 1 << 16

// due reports whether jwt should be scanned at version and now, and if so
// records the scan.
func (p *proofScans) due(jwt string, version uint64, now int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.m[jwt]; ok && (s.version == version || now-s.at < 1e9) {
		return false
	}
	if sec := now / 1e9; sec != p.second {
		p.second, p.count = sec, 0
	}
	if p.count >= maxScansPerSecond {
		return false // over budget: a later request of this token scans
	}
	p.count++
	if p.m == nil || len(p.m) >= maxProofScans {
		p.m = make(map[string]proofScan)
	}
	p.m[strings.Clone(jwt)] = proofScan{version, now}
	return true
}

// revokedByProof tells whether the request's token belongs to a revoked
// session although the session id in front of it is not proven (an exc
// path, where anyone holding the token may write any id, or none): it
// tries the token's binding (the SMDE intsig) with each revoked id and this
// request's attributes. A match proves that id, which the verifier then
// keeps as the token's session for every later request. The set is
// scanned for a JWT only when it has grown since the last scan, at most
// once a second. Where the token binds the IP or the User-Agent and this
// request comes from others, no id can be proven: docs/tokens.md.
func (e *Edge) revokedByProof(x *exchange) bool {
	sc, ok := e.revoked.(revokedScanner)
	if !ok {
		return false
	}
	seg, rest, _, terr := smde.SplitTarget(x.target)
	if terr != nil {
		return false
	}
	jwt := seg
	if strings.Count(seg, ".") == 3 {
		jwt = seg[strings.IndexByte(seg, '.')+1:]
	}
	if !e.scans.due(jwt, sc.Version(), x.start.UnixNano()) {
		return false
	}
	req := x.tokenReq
	query := ""
	if q := x.query; q != "" {
		query = "?" + q
	}
	found := false
	sc.Each(func(id string) bool {
		req.Target = "/" + id + "." + jwt + rest + query
		g, err := x.s.format.Verify(&req, e.keys)
		if err == nil && g.SessionProven && g.SessionID == id {
			x.sessionID, x.sessionProven = id, true
			found = true
			return false
		}
		return true
	})
	return found
}
