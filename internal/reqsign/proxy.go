package reqsign

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// proxy is the signing reverse proxy of NewProxy.
type proxy struct {
	rp      *httputil.ReverseProxy
	maxBody int64
	now     func() time.Time
}

// NewProxy returns a reverse proxy to target that signs every request it
// forwards with keyID and secret, so that an edge can mount the control
// plane's API at /v1/ on its own hostname (mount it without stripping the
// prefix: the request path is appended to target's path). It appends the
// client's address to X-Forwarded-For (the control plane believes it only
// when the edge is among its trusted proxies), sets X-Forwarded-Host and
// -Proto, reads at most DefaultMaxBody bytes of body to hash it (413
// beyond), and answers 502 when the target cannot be reached. Signature
// headers sent by the client are replaced. When keyID or secret is not
// acceptable to Sign, every request is answered 500 proxy_misconfigured
// and nothing is forwarded.
func NewProxy(target *url.URL, keyID string, secret []byte) http.Handler {
	if err := checkKeyID(keyID); err != nil || len(secret) < MinSecretLen || target == nil || target.Host == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			WriteError(w, &Error{http.StatusInternalServerError, "proxy_misconfigured", "the edge's request signing is misconfigured"})
		})
	}
	secret = bytes.Clone(secret)
	p := &proxy{maxBody: DefaultMaxBody, now: time.Now}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// Rewrite starts from a request without X-Forwarded-For; keep
			// the chain so that the control plane can walk it.
			if xff := pr.In.Header.Values("X-Forwarded-For"); len(xff) > 0 {
				pr.Out.Header["X-Forwarded-For"] = append([]string(nil), xff...)
			}
			pr.SetURL(target)
			pr.SetXForwarded()
			hash, _ := pr.In.Context().Value(bodyHashKey{}).(string)
			// Sign fails only for a bad key id or secret, checked above,
			// or a query that does not parse: then the request goes
			// unsigned and the control plane refuses it.
			if Sign(pr.Out, keyID, secret, hash, p.now()) != nil {
				pr.Out.Header.Del(HeaderSignature)
			}
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			WriteError(w, &Error{http.StatusBadGateway, "control_plane_unreachable", "the control plane did not answer"})
		},
	}
	return p
}

// bodyHashKey carries the body's hash from ServeHTTP to Rewrite.
type bodyHashKey struct{}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil && r.Body != http.NoBody {
		tooLarge := &Error{http.StatusRequestEntityTooLarge, ReasonBodyTooLarge, fmt.Sprintf("the body is larger than %d bytes", p.maxBody)}
		if r.ContentLength > p.maxBody {
			WriteError(w, tooLarge)
			return
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, p.maxBody+1))
		if err != nil {
			WriteError(w, &Error{http.StatusBadRequest, "bad_request", "the body could not be read"})
			return
		}
		if int64(len(b)) > p.maxBody {
			WriteError(w, tooLarge)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), bodyHashKey{}, BodyHash(b)))
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
	p.rp.ServeHTTP(w, r)
}
