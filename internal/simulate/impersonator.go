package simulate

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
)

// impersonator holds a valid token of its own whose policy lists exc
// paths, writes a victim's session id in front of its JWT, and pulls
// those paths from several addresses at once: the attack of a viewer who
// wants someone else revoked. On an exc path SMDE checks only the
// signature and times, so the id in front is proven by nothing; the edge
// records it as unproven and the detector must ignore it. It must cause
// no revocation: neither the victim's (a legitimate session of the run)
// nor its own, which its requests never name.
type impersonator struct {
	pullers []*restreamer
}

func (v *impersonator) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range v.pullers {
		wg.Go(func() { p.run(ctx) })
	}
	wg.Wait()
}

// withSession returns the playback URL u with session id sid written in
// front of its JWT, in place of the token's own.
func withSession(u, sid string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	seg, rest, ok := strings.Cut(strings.TrimPrefix(p.EscapedPath(), "/"), "/")
	if !ok || strings.Count(seg, ".") != 3 {
		return "", fmt.Errorf("playback URL %s has no session id in front of its token", u)
	}
	seg = sid + seg[strings.IndexByte(seg, '.'):]
	p.RawPath = ""
	p.Path = "/" + seg + "/" + rest
	return p.String(), nil
}

var _ model = (*impersonator)(nil)
