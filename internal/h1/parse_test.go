package h1

import (
	"bufio"
	"bytes"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// parseCases are request heads and what the server does with them: 0
// means served (handed to the handler), else the status it refuses them
// with. The fuzz target starts from them too.
var parseCases = []struct {
	name string
	head string
	want int
}{
	// Served.
	{"get", "GET /vod/a.ts HTTP/1.1\r\nHost: edge.example\r\n\r\n", 0},
	{"head", "HEAD /a.ts HTTP/1.1\r\nHost: e\r\nUser-Agent: ffmpeg\r\n\r\n", 0},
	{"options asterisk", "OPTIONS * HTTP/1.1\r\nHost: e\r\n\r\n", 0},
	{"query", "GET /a.m3u8?x=1&y=%20 HTTP/1.1\r\nHost: e\r\n\r\n", 0},
	{"empty query", "GET /a? HTTP/1.1\r\nHost: e\r\n\r\n", 0},
	{"escaped path", "GET /a%20b/c%2Fd HTTP/1.1\r\nHost: e\r\n\r\n", 0},
	{"double slash", "GET //a//b HTTP/1.1\r\nHost: e\r\n\r\n", 0},
	{"path punctuation", "GET /a;b,c=d@e:f!g$h&i'j(k)l*m+n~o-p_q.r HTTP/1.1\r\nHost: e\r\n\r\n", 0},
	{"absolute form", "GET http://other.example/a.ts?q HTTP/1.1\r\nHost: e\r\n\r\n", 0},
	{"http/1.0 without host", "GET /a.ts HTTP/1.0\r\n\r\n", 0},
	{"http/1.0 keep-alive", "GET /a.ts HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0},
	{"connection close", "GET / HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n", 0},
	{"names canonicalized", "GET / HTTP/1.1\r\nhost: e\r\nuser-AGENT: x\r\nx-forwarded-for: 192.0.2.1\r\n\r\n", 0},
	{"repeated field", "GET / HTTP/1.1\r\nHost: e\r\nX-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 192.0.2.2\r\n\r\n", 0},
	{"blanks trimmed", "GET / HTTP/1.1\r\nHost: e\r\nRange: \t bytes=0-1 \t\r\n\r\n", 0},
	{"empty value", "GET / HTTP/1.1\r\nHost: e\r\nX-Empty:\r\n\r\n", 0},
	{"obs-text value", "GET / HTTP/1.1\r\nHost: e\r\nX-Name: caf\xc3\xa9\r\n\r\n", 0},
	{"pragma", "GET / HTTP/1.1\r\nHost: e\r\nPragma: no-cache\r\n\r\n", 0},
	{"zero content-length", "GET / HTTP/1.1\r\nHost: e\r\nContent-Length: 0\r\n\r\n", 0},
	{"post without body", "POST /a HTTP/1.1\r\nHost: e\r\n\r\n", 0},
	{"lower-case method", "get / HTTP/1.1\r\nHost: e\r\n\r\n", 0},
	{"host with port", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 0},

	// Syntax: 400 (505 for other versions).
	{"obs-fold", "GET / HTTP/1.1\r\nHost: e\r\nX-A: a\r\n b\r\n\r\n", 400},
	{"fold as first line", "GET / HTTP/1.1\r\n Host: e\r\n\r\n", 400},
	{"bare LF", "GET / HTTP/1.1\nHost: e\r\n\r\n", 400},
	{"bare LF in fields", "GET / HTTP/1.1\r\nHost: e\nX-A: b\r\n\r\n", 400},
	{"bare CR in value", "GET / HTTP/1.1\r\nHost: e\r\nX-A: a\rb\r\n\r\n", 400},
	{"bare CR in request line", "GET /a\rb HTTP/1.1\r\nHost: e\r\n\r\n", 400},
	{"space before colon", "GET / HTTP/1.1\r\nHost : e\r\n\r\n", 400},
	{"invalid name", "GET / HTTP/1.1\r\nHost: e\r\nX(A): b\r\n\r\n", 400},
	{"empty name", "GET / HTTP/1.1\r\nHost: e\r\n: b\r\n\r\n", 400},
	{"no colon", "GET / HTTP/1.1\r\nHost: e\r\nX-A\r\n\r\n", 400},
	{"control in value", "GET / HTTP/1.1\r\nHost: e\r\nX-A: a\x01b\r\n\r\n", 400},
	{"NUL in value", "GET / HTTP/1.1\r\nHost: e\r\nX-A: a\x00b\r\n\r\n", 400},
	{"DEL in value", "GET / HTTP/1.1\r\nHost: e\r\nX-A: a\x7fb\r\n\r\n", 400},
	{"invalid method", "G\"ET / HTTP/1.1\r\nHost: e\r\n\r\n", 400},
	{"two spaces", "GET  / HTTP/1.1\r\nHost: e\r\n\r\n", 400},
	{"no version", "GET /\r\nHost: e\r\n\r\n", 400},
	{"space in target", "GET /a b HTTP/1.1\r\nHost: e\r\n\r\n", 400},
	{"lower-case version", "GET / http/1.1\r\nHost: e\r\n\r\n", 400},
	{"long version", "GET / HTTP/1.10\r\nHost: e\r\n\r\n", 400},
	{"http/2.0", "GET / HTTP/2.0\r\nHost: e\r\n\r\n", 505},
	{"http/1.2", "GET / HTTP/1.2\r\nHost: e\r\n\r\n", 505},
	{"h2 preface", "PRI * HTTP/2.0\r\n\r\n", 505},
	{"fragment", "GET /a#b HTTP/1.1\r\nHost: e\r\n\r\n", 400},
	{"raw non-ASCII target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: e\r\n\r\n", 400},
	{"relative target", "GET a.ts HTTP/1.1\r\nHost: e\r\n\r\n", 400},
	{"asterisk for GET", "GET * HTTP/1.1\r\nHost: e\r\n\r\n", 400},
	{"authority form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 400},
	{"bad escape", "GET /a%zz HTTP/1.1\r\nHost: e\r\n\r\n", 400},
	{"leading empty line", "\r\nGET / HTTP/1.1\r\nHost: e\r\n\r\n", 400},
	{"missing host", "GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n", 400},
	{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
	{"bad host", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
	{"too many fields", "GET / HTTP/1.1\r\nHost: e\r\n" + strings.Repeat("X-A: b\r\n", maxFields) + "\r\n", 431},

	// Bodies and smuggling: never read, refused, the connection closed.
	{"CL and TE", "POST / HTTP/1.1\r\nHost: e\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"TE on GET", "GET / HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"TE identity on GET", "GET / HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: identity\r\n\r\n", 501},
	{"TE on POST", "POST / HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: chunked\r\n\r\n", 405},
	{"body on GET", "GET / HTTP/1.1\r\nHost: e\r\nContent-Length: 5\r\n\r\n", 400},
	{"body on HEAD", "HEAD / HTTP/1.1\r\nHost: e\r\nContent-Length: 5\r\n\r\n", 400},
	{"body on POST", "POST / HTTP/1.1\r\nHost: e\r\nContent-Length: 5\r\n\r\n", 405},
	{"duplicate CL", "GET / HTTP/1.1\r\nHost: e\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", 400},
	{"CL list", "GET / HTTP/1.1\r\nHost: e\r\nContent-Length: 0, 0\r\n\r\n", 400},
	{"CL sign", "GET / HTTP/1.1\r\nHost: e\r\nContent-Length: +0\r\n\r\n", 400},
	{"CL empty", "GET / HTTP/1.1\r\nHost: e\r\nContent-Length:\r\n\r\n", 400},
	{"CL huge", "GET / HTTP/1.1\r\nHost: e\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
	{"expect", "GET / HTTP/1.1\r\nHost: e\r\nExpect: 100-continue\r\n\r\n", 417},
}

// parseAndCheck is what the server does with a head before the handler:
// parse, then the policy checks. It returns the status of a refusal, or 0.
func parseAndCheck(raw []byte) (*http.Request, int) {
	var p parser
	r := new(http.Request)
	hd, perr := p.parse(raw, r)
	if perr == nil {
		perr = checkHead(&hd)
	}
	if perr != nil {
		return nil, perr.status
	}
	return r, 0
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.head)
			r, got := parseAndCheck(raw)
			if got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
			if r != nil {
				sameAsNetHTTP(t, []byte(tc.head), r)
			}
		})
	}
}

// TestParseFields checks what net/http would not tell apart from an
// error: values, canonical names and the connection's fate.
func TestParseFields(t *testing.T) {
	r, code := parseAndCheck([]byte("GET /a%20b?x HTTP/1.0\r\nhost: e:80\r\nx-a: 1\r\nX-A:  2 \r\nConnection: Keep-Alive\r\n\r\n"))
	if code != 0 {
		t.Fatal(code)
	}
	if r.Host != "e:80" || r.Header["Host"] != nil || r.Close || r.URL.Path != "/a b" || r.URL.RawQuery != "x" ||
		!reflect.DeepEqual(r.Header["X-A"], []string{"1", "2"}) || r.Proto != "HTTP/1.0" || r.RequestURI != "/a%20b?x" {
		t.Fatalf("%+v", r)
	}
	// A handler appending to a value does not overwrite the next one.
	r, _ = parseAndCheck([]byte("GET / HTTP/1.1\r\nHost: e\r\nA: 1\r\nB: 2\r\n\r\n"))
	r.Header["A"] = append(r.Header["A"], "x")
	if r.Header.Get("B") != "2" {
		t.Fatalf("B = %q", r.Header.Get("B"))
	}
}

// sameAsNetHTTP fails unless http.ReadRequest parses raw as the same
// request: method, target, URL, version, host, header fields, close.
// Differences by design: net/http's server removes Host from the header
// map (so does this one); a request net/http would read a body of is
// refused here, so the body is not compared.
func sameAsNetHTTP(t *testing.T, raw []byte, r *http.Request) {
	t.Helper()
	want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("accepted %q, which net/http refuses: %v", raw, err)
	}
	delete(want.Header, "Host")
	type view struct {
		Method, RequestURI, Proto, Host string
		Major, Minor                    int
		Close                           bool
		URL                             string
		Scheme, UHost, Path, RawPath    string
		RawQuery                        string
		ForceQuery                      bool
		Length                          int64
	}
	of := func(r *http.Request) view {
		return view{r.Method, r.RequestURI, r.Proto, r.Host, r.ProtoMajor, r.ProtoMinor, r.Close, r.URL.String(),
			r.URL.Scheme, r.URL.Host, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.URL.ForceQuery, r.ContentLength}
	}
	if g, w := of(r), of(want); g != w {
		t.Fatalf("%q:\n got %+v\nwant %+v", raw, g, w)
	}
	if g, w := r.URL.EscapedPath(), want.URL.EscapedPath(); g != w {
		t.Fatalf("%q: escaped path %q, net/http %q", raw, g, w)
	}
	if len(r.Header) != len(want.Header) || (len(want.Header) > 0 && !reflect.DeepEqual(r.Header, want.Header)) {
		t.Fatalf("%q:\n got header %q\nwant %q", raw, r.Header, want.Header)
	}
}

// FuzzParseRequest: the parser never panics, and whatever it accepts,
// net/http's parser accepts as the same request. The seed corpus is
// parseCases and testdata/fuzz/FuzzParseRequest.
func FuzzParseRequest(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.head))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		end := bytes.Index(data, crlfcrlf)
		if end < 0 {
			return
		}
		raw := data[:end+4]
		orig := bytes.Clone(raw)
		r, code := parseAndCheck(raw)
		if code == 0 {
			sameAsNetHTTP(t, orig, r)
		}
	})
}
