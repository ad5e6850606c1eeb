package control_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// apiCase is one hostile request of testdata/adversarial/api.jsonl.
type apiCase struct {
	Name    string   `json:"name"`
	Class   string   `json:"class"`
	Method  string   `json:"method"`
	Path    string   `json:"path"`
	Key     string   `json:"key"` // admin, issuer, reader, bad, none
	Headers []string `json:"headers"`
	Body    *string  `json:"body"`
	Status  int      `json:"status"`
	Code    string   `json:"code"`
	Field   *string  `json:"field"`
	// After is a request ("GET /path status") whose status proves the
	// hostile one changed nothing.
	After string `json:"after"`
}

var apiPlaceholder = regexp.MustCompile(`<%(REPEAT|BYTE) ([^%]*)%>`)

// expandBody replaces <%REPEAT n text%> and <%BYTE hh%>.
func expandBody(t *testing.T, s string) []byte {
	return []byte(apiPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		sub := apiPlaceholder.FindStringSubmatch(m)
		switch sub[1] {
		case "REPEAT":
			n, text, _ := strings.Cut(sub[2], " ")
			k, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("bad placeholder %s", m)
			}
			return strings.Repeat(text, k)
		default:
			b, err := strconv.ParseUint(sub[2], 16, 8)
			if err != nil {
				t.Fatalf("bad placeholder %s", m)
			}
			return string([]byte{byte(b)})
		}
	}))
}

// internals are words of Go, not of the API: no error body may carry them.
var internals = []string{"Go value", "Go struct", "unexpected EOF", "control.", "json:", "strictjson", "goroutine", "runtime.", "reflect", "*errors"}

// TestAdversarialCorpus replays every hostile request of the API corpus
// as raw HTTP against a live API: each gets its status, reason code and
// field; no answer carries an API key, a Go internal or a raw control
// character; and where the case says so, a follow-up request proves that
// nothing was written.
func TestAdversarialCorpus(t *testing.T) {
	f, err := os.Open("testdata/adversarial/api.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []apiCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c apiCase
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.DisallowUnknownFields()
		if err := d.Decode(&c); err != nil {
			t.Fatalf("corpus line %d: %v", len(cases)+1, err)
		}
		cases = append(cases, c)
	}
	if len(cases) < 200 {
		t.Fatalf("%d cases", len(cases))
	}
	e := newEnv(t, nil)
	keys := map[string]string{"admin": e.admin, "issuer": e.issuer, "reader": e.reader, "bad": "smd_not_a_key_at_all", "none": ""}
	addr := e.srv.Listener.Addr().String()
	for _, c := range cases {
		key, ok := keys[c.Key]
		if !ok {
			t.Fatalf("%s: unknown key %q", c.Name, c.Key)
		}
		var body []byte
		if c.Body != nil {
			body = expandBody(t, *c.Body)
		}
		status, hdr, rb, err := rawAPI(addr, c.Method, c.Path, key, c.Headers, body, c.Body != nil)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if status != c.Status {
			t.Errorf("%s (%s): status %d, want %d; body %.200s", c.Name, c.Class, status, c.Status, rb)
			continue
		}
		var eb struct{ Error, Message, Field string }
		if status >= 400 && strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			if err := json.Unmarshal(rb, &eb); err != nil {
				t.Errorf("%s: error body %q: %v", c.Name, rb, err)
			}
		}
		if c.Code != "" && eb.Error != c.Code {
			t.Errorf("%s (%s): code %q, want %q; body %.200s", c.Name, c.Class, eb.Error, c.Code, rb)
		}
		if c.Field != nil && eb.Field != *c.Field {
			t.Errorf("%s (%s): field %q, want %q; body %.200s", c.Name, c.Class, eb.Field, *c.Field, rb)
		}
		for _, k := range []string{e.admin, e.issuer, e.reader} {
			if strings.Contains(string(rb), k) {
				t.Errorf("%s: the answer carries an API key", c.Name)
			}
		}
		for _, w := range internals {
			if strings.Contains(eb.Message, w) {
				t.Errorf("%s: the message speaks Go (%q): %s", c.Name, w, eb.Message)
			}
		}
		for _, r := range eb.Message {
			if r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f {
				t.Errorf("%s: the message carries control character U+%04X: %q", c.Name, r, eb.Message)
				break
			}
		}
		if c.After != "" {
			parts := strings.Fields(c.After)
			want, _ := strconv.Atoi(parts[2])
			if st, _, b, err := rawAPI(addr, parts[0], parts[1], e.admin, nil, nil, false); err != nil || st != want {
				t.Errorf("%s: then %s %s: %d %v, want %d (%.200s)", c.Name, parts[0], parts[1], st, err, want, b)
			}
		}
	}
}

// rawAPI sends one request as bytes (so that headers net/http's client
// would refuse go out as written) and reads the answer. The body is
// written while the answer is read: the server may answer before reading
// it all.
func rawAPI(addr, method, path, key string, headers []string, body []byte, withBody bool) (int, http.Header, []byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return 0, nil, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n", method, path)
	if key != "" {
		fmt.Fprintf(&head, "Authorization: Bearer %s\r\n", key)
	}
	chunked := false
	for _, h := range headers {
		head.WriteString(h + "\r\n")
		chunked = chunked || strings.EqualFold(h, "Transfer-Encoding: chunked")
	}
	if withBody && !chunked {
		fmt.Fprintf(&head, "Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	head.WriteString("\r\n")
	go func() {
		conn.Write([]byte(head.String()))
		if !chunked {
			conn.Write(body)
			return
		}
		for len(body) > 0 {
			n := min(len(body), 64<<10)
			fmt.Fprintf(conn, "%x\r\n", n)
			conn.Write(body[:n])
			io.WriteString(conn, "\r\n")
			body = body[n:]
		}
		io.WriteString(conn, "0\r\n\r\n")
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}
