package edge

import (
	"net/http"
	"strconv"
)

// cors answers browsers' cross-origin checks for web players on other
// sites. A preflight needs no token: browsers never send one with it.
type cors struct {
	any     bool
	allowed map[string]bool
	maxAge  string
}

func newCORS(c CORS) cors {
	out := cors{allowed: map[string]bool{}, maxAge: strconv.Itoa(int(c.MaxAge.Seconds()))}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			out.any = true
		}
		out.allowed[o] = true
	}
	return out
}

func (c *cors) enabled() bool { return c.any || len(c.allowed) > 0 }

// allow returns the Access-Control-Allow-Origin value for the request, or "".
func (c *cors) allow(r *http.Request) string {
	origin := r.Header.Get("Origin")
	switch {
	case origin == "" || !c.enabled():
		return ""
	case c.any:
		return "*"
	case c.allowed[origin]:
		return origin
	}
	return ""
}

// annotate adds CORS headers to a GET or HEAD response.
func (c *cors) annotate(h http.Header, r *http.Request) {
	if !c.enabled() {
		return
	}
	if !c.any {
		h.Add("Vary", "Origin")
	}
	if o := c.allow(r); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
		h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges")
	}
}

// preflight answers an OPTIONS preflight from an allowed origin and
// reports whether it did.
func (c *cors) preflight(w http.ResponseWriter, r *http.Request) bool {
	o := c.allow(r)
	if o == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h := w.Header()
	if !c.any {
		h.Add("Vary", "Origin")
	}
	h.Set("Access-Control-Allow-Origin", o)
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", "Range, If-None-Match, If-Modified-Since")
	}
	h.Set("Access-Control-Max-Age", c.maxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}
