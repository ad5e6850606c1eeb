package control_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/reqsign"
)

var edgeSecret = []byte("edge-secret-edge-secret-edge-secret!")

func TestSignedRequests(t *testing.T) {
	e := newEnv(t, func(c *control.Config) {
		c.RequireSignedRequests = true
		c.SignatureKeys = map[string][]byte{"edge": edgeSecret}
		c.SignatureMaxSkew = time.Minute
		c.TrustedProxies = []string{"127.0.0.1"}
	})
	now := e.clock.Now()
	sign := func(method, path, body string, at time.Time, secret []byte) *http.Request {
		req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body == "" {
			req.Body = http.NoBody
		}
		req.Header.Set("Authorization", "Bearer "+e.admin)
		if err := reqsign.Sign(req, "edge", secret, reqsign.BodyHash([]byte(body)), at); err != nil {
			t.Fatal(err)
		}
		return req
	}
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
	}{
		{"signed POST", func() *http.Request { return sign("POST", "/v1/assets", m1, now, edgeSecret) }, 201, ""},
		{"signed GET", func() *http.Request { return sign("GET", "/v1/assets/m1", "", now, edgeSecret) }, 200, ""},
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest("GET", e.srv.URL+"/v1/assets/m1", nil)
			r.Header.Set("Authorization", "Bearer "+e.admin)
			return r
		}, 401, reqsign.ReasonMissing},
		{"unsigned openapi", func() *http.Request {
			r, _ := http.NewRequest("GET", e.srv.URL+"/v1/openapi.json", nil)
			return r
		}, 401, reqsign.ReasonMissing},
		{"altered path", func() *http.Request {
			r := sign("DELETE", "/v1/assets/m2", "", now, edgeSecret)
			r.URL.Path = "/v1/assets/m1"
			return r
		}, 401, reqsign.ReasonMismatch},
		{"altered body", func() *http.Request {
			r := sign("POST", "/v1/sessions/s1/revoke", `{"ttl":"1m"}`, now, edgeSecret)
			b := `{"ttl":"9d"}`
			r.Body, r.ContentLength = nopCloser(b), int64(len(b))
			return r
		}, 401, reqsign.ReasonMismatch},
		{"stale", func() *http.Request { return sign("GET", "/v1/assets/m1", "", now.Add(-2*time.Minute), edgeSecret) }, 401, reqsign.ReasonStale},
		{"wrong secret", func() *http.Request {
			return sign("GET", "/v1/assets/m1", "", now, []byte("another-secret-another-secret-another"))
		}, 401, reqsign.ReasonMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, send(t, tc.req()), tc.status, tc.code)
		})
	}

	// Through the edge's signing proxy: accepted, and the viewer's address
	// comes from the proxy's X-Forwarded-For.
	target, _ := url.Parse(e.srv.URL)
	edge := httptest.NewServer(reqsign.NewProxy(target, "edge", edgeSecret))
	defer edge.Close()
	// The proxy signs with the real clock; the API's clock is the test's.
	e.clock.Add(time.Since(now))
	req, _ := http.NewRequest("GET", edge.URL+"/v1/token?id=m1", nil)
	req.Header.Set("Authorization", "Bearer "+e.issuer)
	r := send(t, req)
	expect(t, r, 200, "")
	var ans tokenAnswer
	r.decode(t, &ans)
	if ans.TokenPolicy.IPValue != "127.0.0.1" {
		t.Errorf("ip_value %q", ans.TokenPolicy.IPValue)
	}
}

type stringBody struct{ *strings.Reader }

func (stringBody) Close() error { return nil }

func nopCloser(s string) stringBody { return stringBody{strings.NewReader(s)} }
