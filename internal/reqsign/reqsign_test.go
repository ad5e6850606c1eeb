package reqsign

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var (
	testSecret  = []byte("0123456789abcdef0123456789abcdef")
	otherSecret = []byte("fedcba9876543210fedcba9876543210")
	t0          = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
)

func newVerifier(t *testing.T) *Verifier {
	t.Helper()
	v, err := NewVerifier(map[string][]byte{"edge": testSecret}, time.Minute, 64)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return t0 }
	return v
}

// signed builds a request to target with body, signed with key at time at.
func signed(t *testing.T, method, target, body string, keyID string, secret []byte, at time.Time) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if err := Sign(r, keyID, secret, BodyHash([]byte(body)), at); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		status int
		reason string
	}{
		{"GET", func(t *testing.T) *http.Request {
			return signed(t, "GET", "/v1/assets?limit=2&after=a", "", "edge", testSecret, t0)
		}, 0, ""},
		{"POST with body", func(t *testing.T) *http.Request {
			return signed(t, "POST", "/v1/sessions/s1/revoke", `{"reason":"x"}`, "edge", testSecret, t0)
		}, 0, ""},
		{"query reordered and re-escaped", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/v1/token?id=a&x=b%20c", "", "edge", testSecret, t0)
			r.URL.RawQuery = "x=b+c&id=a"
			return r
		}, 0, ""},
		{"within the skew, past", func(t *testing.T) *http.Request {
			return signed(t, "GET", "/v1/edges", "", "edge", testSecret, t0.Add(-59*time.Second))
		}, 0, ""},
		{"within the skew, future", func(t *testing.T) *http.Request {
			return signed(t, "GET", "/v1/edges", "", "edge", testSecret, t0.Add(59*time.Second))
		}, 0, ""},
		{"unsigned", func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "/v1/edges", nil)
		}, 401, ReasonMissing},
		{"stale", func(t *testing.T) *http.Request {
			return signed(t, "GET", "/v1/edges", "", "edge", testSecret, t0.Add(-2*time.Minute))
		}, 401, ReasonStale},
		{"from the future", func(t *testing.T) *http.Request {
			return signed(t, "GET", "/v1/edges", "", "edge", testSecret, t0.Add(2*time.Minute))
		}, 401, ReasonStale},
		{"unknown key", func(t *testing.T) *http.Request {
			return signed(t, "GET", "/v1/edges", "", "other", testSecret, t0)
		}, 401, ReasonUnknownKey},
		{"wrong secret", func(t *testing.T) *http.Request {
			return signed(t, "GET", "/v1/edges", "", "edge", otherSecret, t0)
		}, 401, ReasonMismatch},
		{"method altered", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/v1/assets/a", "", "edge", testSecret, t0)
			r.Method = "DELETE"
			return r
		}, 401, ReasonMismatch},
		{"path altered", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/v1/assets/a", "", "edge", testSecret, t0)
			r.URL.Path = "/v1/assets/b"
			return r
		}, 401, ReasonMismatch},
		{"query altered", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/v1/token?id=a", "", "edge", testSecret, t0)
			r.URL.RawQuery = "id=b"
			return r
		}, 401, ReasonMismatch},
		{"query added", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/v1/keys", "", "edge", testSecret, t0)
			r.URL.RawQuery = "secrets=true"
			return r
		}, 401, ReasonMismatch},
		{"body altered", func(t *testing.T) *http.Request {
			r := signed(t, "POST", "/v1/assets", `{"id":"a"}`, "edge", testSecret, t0)
			r.Body = io.NopCloser(strings.NewReader(`{"id":"b"}`))
			return r
		}, 401, ReasonMismatch},
		{"body and digest altered", func(t *testing.T) *http.Request {
			r := signed(t, "POST", "/v1/assets", `{"id":"a"}`, "edge", testSecret, t0)
			r.Body = io.NopCloser(strings.NewReader(`{"id":"b"}`))
			r.Header.Set(HeaderContent, BodyHash([]byte(`{"id":"b"}`)))
			return r
		}, 401, ReasonMismatch},
		{"date altered within the skew", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/v1/edges", "", "edge", testSecret, t0)
			r.Header.Set(HeaderDate, t0.Add(time.Second).Format(dateLayout))
			return r
		}, 401, ReasonMismatch},
		{"malformed signature", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/v1/edges", "", "edge", testSecret, t0)
			r.Header.Set(HeaderSignature, "keyId=edge")
			return r
		}, 401, ReasonMalformed},
		{"malformed date", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/v1/edges", "", "edge", testSecret, t0)
			r.Header.Set(HeaderDate, "yesterday")
			return r
		}, 401, ReasonMalformed},
		{"malformed digest", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/v1/edges", "", "edge", testSecret, t0)
			r.Header.Set(HeaderContent, "abc")
			return r
		}, 401, ReasonMalformed},
		{"body too large", func(t *testing.T) *http.Request {
			return signed(t, "POST", "/v1/assets", strings.Repeat("x", 65), "edge", testSecret, t0)
		}, 413, ReasonBodyTooLarge},
		{"body too large, length unknown", func(t *testing.T) *http.Request {
			r := signed(t, "POST", "/v1/assets", strings.Repeat("x", 65), "edge", testSecret, t0)
			r.ContentLength = -1
			return r
		}, 413, ReasonBodyTooLarge},
	}
	v := newVerifier(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req(t)
			var body []byte
			if r.Body != nil {
				body, _ = io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			id, err := v.Verify(r)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if id != "edge" {
					t.Errorf("key id %q, want edge", id)
				}
				again, _ := io.ReadAll(r.Body)
				if !bytes.Equal(again, body) {
					t.Errorf("body after Verify = %q, want %q", again, body)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify: %v, want *Error", err)
			}
			if e.Status != tc.status || e.Reason != tc.reason {
				t.Errorf("got %d %s, want %d %s", e.Status, e.Reason, tc.status, tc.reason)
			}
			if strings.Contains(e.Error(), string(testSecret)) {
				t.Errorf("error shows the secret: %v", e)
			}
		})
	}
}

func TestNewVerifierErrors(t *testing.T) {
	tests := []struct {
		name string
		keys map[string][]byte
		want string
	}{
		{"no keys", nil, "no keys"},
		{"short secret", map[string][]byte{"edge": []byte("short")}, "shorter than 32"},
		{"bad key id", map[string][]byte{"a,b": testSecret}, "key id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier(tc.keys, 0, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	r := httptest.NewRequest("GET", "/v1/edges", nil)
	if err := Sign(r, "edge", []byte("short"), "", t0); err == nil {
		t.Error("short secret: no error")
	}
	if err := Sign(r, "", testSecret, "", t0); err == nil {
		t.Error("empty key id: no error")
	}
	r = httptest.NewRequest("GET", "/v1/edges?a=%zz", nil)
	if err := Sign(r, "edge", testSecret, "", t0); err == nil {
		t.Error("bad query: no error")
	}
}

func TestWrap(t *testing.T) {
	v := newVerifier(t)
	h := v.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}))
	r := signed(t, "POST", "/v1/x", "hello", "edge", testSecret, t0)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || w.Body.String() != "hello" {
		t.Errorf("signed: %d %q", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/x", nil))
	var e struct{ Error, Message string }
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != 401 || e.Error != ReasonMissing || e.Message == "" {
		t.Errorf("unsigned: %d %q (%v)", w.Code, w.Body, err)
	}
}

// TestProxy runs a client -> signing proxy -> verifying backend chain on
// loopback.
func TestProxy(t *testing.T) {
	v, err := NewVerifier(map[string][]byte{"edge": testSecret}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		path, query, xff, body string
	}
	got := make(chan seen, 1)
	backend := httptest.NewServer(v.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("X-Forwarded-For"), string(b)}
		w.WriteHeader(http.StatusTeapot)
	})))
	defer backend.Close()
	target, _ := url.Parse(backend.URL)
	front := httptest.NewServer(NewProxy(target, "edge", testSecret))
	defer front.Close()

	req, _ := http.NewRequest("POST", front.URL+"/v1/assets/a%2Fb?z=1&a=2", strings.NewReader(`{"x":1}`))
	req.Header.Set("X-Forwarded-For", "198.51.100.9")
	req.Header.Set(HeaderSignature, "keyId=evil,sig="+strings.Repeat("0", 64))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTeapot {
		t.Fatalf("status %d, want 418 from the backend", resp.StatusCode)
	}
	s := <-got
	want := seen{"/v1/assets/a%2Fb", "z=1&a=2", "198.51.100.9, 127.0.0.1", `{"x":1}`}
	if s != want {
		t.Errorf("backend saw %+v, want %+v", s, want)
	}

	// Unsigned directly to the backend: refused.
	resp, err = http.Get(backend.URL + "/v1/assets")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("direct unsigned: %d, want 401", resp.StatusCode)
	}

	// A proxy with the wrong secret is refused by the backend.
	bad := httptest.NewServer(NewProxy(target, "edge", otherSecret))
	defer bad.Close()
	resp, err = http.Get(bad.URL + "/v1/assets")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong secret: %d, want 401", resp.StatusCode)
	}
}

func TestProxyErrors(t *testing.T) {
	target, _ := url.Parse("http://127.0.0.1:1")
	tests := []struct {
		name   string
		h      http.Handler
		body   string
		status int
		reason string
	}{
		{"misconfigured", NewProxy(target, "edge", []byte("short")), "", 500, "proxy_misconfigured"},
		{"unreachable", NewProxy(target, "edge", testSecret), "", 502, "control_plane_unreachable"},
		{"body too large", NewProxy(target, "edge", testSecret), strings.Repeat("x", DefaultMaxBody+1), 413, ReasonBodyTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/assets", strings.NewReader(tc.body))
			w := httptest.NewRecorder()
			tc.h.ServeHTTP(w, r)
			var e struct{ Error string }
			_ = json.Unmarshal(w.Body.Bytes(), &e)
			if w.Code != tc.status || e.Error != tc.reason {
				t.Errorf("got %d %q, want %d %s", w.Code, w.Body, tc.status, tc.reason)
			}
		})
	}
}

func TestParseSignature(t *testing.T) {
	sig := strings.Repeat("ab", 32)
	tests := []struct {
		in string
		ok bool
	}{
		{"keyId=edge,sig=" + sig, true},
		{"sig=" + sig + ", keyId=edge", true},
		{"keyId=edge", false},
		{"sig=" + sig, false},
		{"keyId=edge,keyId=edge,sig=" + sig, false},
		{"keyId=edge,sig=" + sig + ",sig=" + sig, false},
		{"keyId=edge,sig=" + strings.ToUpper(sig), false},
		{"keyId=edge,sig=" + sig[:62], false},
		{"keyId=,sig=" + sig, false},
		{"keyId=a b,sig=" + sig, false},
		{"keyId=edge,sig=" + sig + ",x=1", false},
		{"keyId=edge;sig=" + sig, false},
		{"", false},
	}
	for _, tc := range tests {
		s, err := ParseSignature(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseSignature(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
		if tc.ok && (s.KeyID != "edge" || s.Sig != sig) {
			t.Errorf("ParseSignature(%q) = %+v", tc.in, s)
		}
	}
}

func FuzzParseSignature(f *testing.F) {
	f.Add("keyId=edge,sig=" + strings.Repeat("ab", 32))
	f.Add("sig=" + strings.Repeat("0", 64) + ", keyId=a.b-c_d")
	f.Add("keyId=edge,,sig=")
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseSignature(s)
		if err != nil {
			return
		}
		// Whatever parses prints back to something that parses the same.
		again, err := ParseSignature("keyId=" + sig.KeyID + ",sig=" + sig.Sig)
		if err != nil || again != sig {
			t.Fatalf("%q parsed to %+v, which does not round-trip: %+v %v", s, sig, again, err)
		}
		if checkKeyID(sig.KeyID) != nil || !isHex64(sig.Sig) {
			t.Fatalf("%q parsed to an invalid %+v", s, sig)
		}
	})
}
