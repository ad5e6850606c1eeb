package node_test

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/token/smde"
)

// adversarialCase is one hostile request of the corpus
// (testdata/adversarial/edge.jsonl), replayed as raw bytes.
type adversarialCase struct {
	Name  string `json:"name"`
	Class string `json:"class"`
	// Raw is the request, with placeholders (expand); RawB64, when set,
	// is the request as base64 bytes instead (binary input).
	Raw    string `json:"raw"`
	RawB64 string `json:"raw_b64"`
	// Status is the expected status; 0: the connection is closed without
	// an answer.
	Status int `json:"status"`
	// Engines limits the case to one engine ("lean" or "net/http") when
	// their answers may differ by design; empty: both, identically.
	Engines []string `json:"engines"`
}

// loadCorpus reads a JSON lines corpus strictly (unknown members refused).
func loadCorpus(t *testing.T, name string) []adversarialCase {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []adversarialCase
	seen := map[string]bool{}
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var c adversarialCase
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s:%d: %v", name, i+1, err)
		}
		if c.Name == "" || seen[c.Name] || (c.Raw == "") == (c.RawB64 == "") {
			t.Fatalf("%s:%d: a case needs a unique name and one of raw, raw_b64", name, i+1)
		}
		seen[c.Name] = true
		out = append(out, c)
	}
	return out
}

// corpusKeySecret signs the corpus's tokens; the test checks that it never
// shows in a response.
var corpusSecret = string(testKey.Secret)

// placeholder is <%NAME%> or <%NAME arg%>.
var placeholder = regexp.MustCompile(`<%([A-Z0-9_]+)(?: (.*?))?%>`)

// expand replaces the corpus's placeholders:
//
//	<%TOKEN%>           a valid token for /vod/ binding session Sess1
//	<%TOKEN_NOSSN%>     a valid token for /vod/ binding nothing
//	<%TOKEN_IP%>        a valid token for /vod/ bound to 192.0.2.10
//	<%TOKEN_EXC%>       a valid token for /vod/m1/ with exc /vod/ads/, session Sess2
//	<%JWT_EXC%>         the JWT of TOKEN_EXC, without its session id
//	<%REVOKED%>         a valid token of the revoked session Gone1
//	<%EXPIRED%>         a token whose exp has passed
//	<%SIGN hdr|pay%>    header and payload JSON (EXP: a far expiry) signed with the key
//	<%B64 text%>        text in base64url without padding
//	<%REPEAT n text%>   text n times
func expand(t *testing.T, s string, toks map[string]string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		switch name, arg := sub[1], sub[2]; name {
		case "SIGN":
			hdr, pay, ok := strings.Cut(arg, "|")
			if !ok {
				t.Fatalf("SIGN needs header|payload: %q", arg)
			}
			pay = strings.ReplaceAll(pay, "EXP", farFuture)
			in := b64(hdr) + "." + b64(pay)
			h := hmac.New(sha256.New, []byte(corpusSecret))
			h.Write([]byte(in))
			return in + "." + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
		case "B64":
			return b64(arg)
		case "REPEAT":
			n, text, _ := strings.Cut(arg, " ")
			var k int
			fmt.Sscan(n, &k)
			return strings.Repeat(text, k)
		default:
			v, ok := toks[name]
			if !ok {
				t.Fatalf("unknown placeholder %s", m)
			}
			return v
		}
	})
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// corpusTokens signs the corpus's tokens with the real clock.
func corpusTokens(t *testing.T) map[string]string {
	sign := func(p smde.Policy, v smde.Viewer) string {
		t.Helper()
		if p.Expiry == "" {
			p.Expiry = farFuture
		}
		if p.Paths == nil {
			p.Paths = []string{"/vod/"}
		}
		tok, err := (&smde.Signer{Key: testKey}).Sign(&p, &v)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	exc := sign(smde.Policy{Session: true, Paths: []string{"/vod/m1/"}, Exclusions: []string{"/vod/ads/"}}, smde.Viewer{SessionID: "Sess2"})
	revokedExc := sign(smde.Policy{Session: true, Paths: []string{"/vod/m1/"}, Exclusions: []string{"/vod/ads/"}}, smde.Viewer{SessionID: "Gone1"})
	session := sign(smde.Policy{Session: true}, smde.Viewer{SessionID: "Sess1"})
	return map[string]string{
		"JWT":             strings.TrimPrefix(session, "Sess1."),
		"TOKEN_UA":        sign(smde.Policy{Headers: []string{"user-agent"}}, smde.Viewer{Headers: map[string]string{"user-agent": "corpus-player/1.0"}}),
		"TOKEN_REF":       sign(smde.Policy{Headers: []string{"referer"}}, smde.Viewer{Headers: map[string]string{"referer": "https://portal.example.com/"}}),
		"TOKEN_LOOP":      sign(smde.Policy{IP: true}, smde.Viewer{IP: "127.0.0.1"}),
		"REVOKED_EXC":     revokedExc,
		"JWT_REVOKED_EXC": strings.TrimPrefix(revokedExc, "Gone1."),
		"TOKEN":           session,
		"TOKEN_NOSSN":     sign(smde.Policy{}, smde.Viewer{}),
		"TOKEN_IP":        sign(smde.Policy{IP: true}, smde.Viewer{IP: "192.0.2.10"}),
		"TOKEN_EXC":       exc,
		"JWT_EXC":         strings.TrimPrefix(exc, "Sess2."),
		"REVOKED":         sign(smde.Policy{Session: true}, smde.Viewer{SessionID: "Gone1"}),
		"EXPIRED":         sign(smde.Policy{Expiry: "1700000000"}, smde.Viewer{}),
	}
}

// leaks are what no response may carry: a refusal reason, the key's
// secret, a token.
func leaks(toks map[string]string) []string {
	out := []string{corpusSecret, "bad_signature", "bad_alg", "unknown_kid", "binding_mismatch", "path_not_allowed",
		"not_yet_valid", "ip_version_mismatch", "geo_unknown", "revoked"}
	for _, v := range toks {
		out = append(out, v[strings.LastIndexByte(v, '.')+1:]) // a token's signature
	}
	return out
}

// originMark starts every body the test origin sends: a refused request
// must never carry it.
const originMark = "ORIGIN-BYTES:"

// TestAdversarialCorpus replays every hostile request of the corpus as
// raw bytes against a live edge on each engine: each gets its expected
// status (or a closed connection) within a few seconds (never held until
// a timeout), no response carries a reason, the key or a token, and no
// origin byte is served for a refused request.
func TestAdversarialCorpus(t *testing.T) {
	cases := loadCorpus(t, "testdata/adversarial/edge.jsonl")
	toks := corpusTokens(t)
	var originHits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		w.Header().Set("Content-Type", "video/mp2t")
		io.WriteString(w, originMark+r.URL.Path)
	}))
	defer origin.Close()
	forEachEngine(t, func(t *testing.T, engine string) {
		s, _ := startEdge(t, origin.URL, withEngine(engine, func(c *config.Edge) {
			c.Routes = []config.Route{{Prefix: "/vod/", Origin: origin.URL}, {Prefix: "/public/", Origin: origin.URL, Mode: config.ModeOff}}
		}))
		for _, c := range cases {
			if len(c.Engines) > 0 && !contains(c.Engines, engine) {
				continue
			}
			raw := []byte(expand(t, c.Raw, toks))
			if c.RawB64 != "" {
				var err error
				if raw, err = base64.StdEncoding.DecodeString(c.RawB64); err != nil {
					t.Fatalf("%s: raw_b64: %v", c.Name, err)
				}
			}
			status, body, err := exchangeRaw(s.Addr, raw)
			if err != nil {
				t.Errorf("%s (%s): %v", c.Name, c.Class, err)
				continue
			}
			if status != c.Status {
				t.Errorf("%s (%s): status %d, want %d (%.80q)", c.Name, c.Class, status, c.Status, body)
			}
			for _, l := range leaks(toks) {
				if strings.Contains(body, l) {
					t.Errorf("%s: the response carries %q", c.Name, l)
				}
			}
			if status >= 400 && strings.Contains(body, originMark) {
				t.Errorf("%s: refused with %d but carries origin bytes", c.Name, status)
			}
		}
	})
	if originHits.Load() == 0 {
		t.Error("no case reached the origin: the corpus must hold accepted requests too")
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// exchangeRaw sends raw on a new connection and reads one response: its
// status and its head and body as text; status 0 when the server closed
// the connection without answering. The server must answer or close
// within answerWithin.
func exchangeRaw(addr string, raw []byte) (int, string, error) {
	const answerWithin = 3 * time.Second
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(answerWithin))
	if _, err := conn.Write(raw); err != nil && !isReset(err) {
		return 0, "", err
	}
	var buf bytes.Buffer
	br := bufio.NewReader(io.TeeReader(conn, &buf))
	method := "GET"
	if m, _, ok := bytes.Cut(raw, []byte(" ")); ok && string(m) == "HEAD" {
		method = "HEAD"
	}
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		var ne net.Error
		switch {
		case buf.Len() == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF || isReset(err)):
			return 0, "", nil // closed without a word
		case errors.As(err, &ne) && ne.Timeout():
			return 0, "", fmt.Errorf("no answer within %v (held): read %q", answerWithin, buf.String())
		}
		return 0, "", fmt.Errorf("unreadable answer %q: %v", buf.String(), err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, buf.String(), nil
}

// isReset reports a connection reset by the server (it may close before
// reading all of a refused request).
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// TestAdversarialAuthCorpus replays testdata/adversarial/auth.jsonl, hostile
// descriptions of the original request, against an edge in auth mode
// behind a trusted proxy (the test's own address): each gets the expected
// verdict, and no answer carries a token.
func TestAdversarialAuthCorpus(t *testing.T) {
	cases := loadCorpus(t, "testdata/adversarial/auth.jsonl")
	toks := corpusTokens(t)
	s, _ := startEdge(t, "http://127.0.0.1:9", func(c *config.Edge) {
		c.Mode, c.Routes, c.TrustedProxies = config.EdgeAuth, nil, []string{"127.0.0.1"}
	})
	for _, c := range cases {
		status, body, err := exchangeRaw(s.Addr, []byte(expand(t, c.Raw, toks)))
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if status != c.Status {
			t.Errorf("%s: status %d, want %d (%.80q)", c.Name, status, c.Status, body)
		}
		for _, l := range leaks(toks) {
			if strings.Contains(body, l) {
				t.Errorf("%s: the answer carries %q", c.Name, l)
			}
		}
	}
}
