package h1

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// protoError is a request the server refuses before any handler sees it:
// the status goes to the client with its standard text, the connection is
// closed, and msg stays in the server (tests and debug logs).
type protoError struct {
	status int
	code   string // for metrics: Server.Refused
	msg    string
}

func (e *protoError) Error() string { return e.msg }

func bad(code, msg string) *protoError {
	return &protoError{status: http.StatusBadRequest, code: code, msg: msg}
}

// The refusals of the parser, shared (no allocation on a refused request).
var (
	errRequestLine    = bad("request_line", "malformed request line")
	errMethod         = bad("method", "invalid method")
	errTarget         = bad("target", "invalid request target")
	errVersion        = bad("version", "malformed HTTP version")
	errVersionNot11   = &protoError{code: "version_unsupported", status: http.StatusHTTPVersionNotSupported, msg: "unsupported HTTP version"}
	errLineEnd        = bad("line_end", "line not ended by CRLF (bare CR or LF)")
	errFold           = bad("obs_fold", "obsolete line folding")
	errHeaderName     = bad("header_name", "invalid header name")
	errHeaderValue    = bad("header_value", "invalid header value")
	errNoHost         = bad("no_host", "missing required Host header")
	errManyHosts      = bad("many_hosts", "too many Host headers")
	errBadHost        = bad("bad_host", "malformed Host header")
	errContentLength  = bad("content_length", "invalid or repeated Content-Length")
	errTooManyFields  = &protoError{code: "too_many_fields", status: http.StatusRequestHeaderFieldsTooLarge, msg: "too many header fields"}
	errTooLarge       = &protoError{code: "head_too_large", status: http.StatusRequestHeaderFieldsTooLarge, msg: "request head too large"}
	errBody           = bad("body", "request with a body (Transfer-Encoding or Content-Length > 0)")
	errBodyMethod     = &protoError{code: "body_method", status: http.StatusMethodNotAllowed, msg: "method with a body"}
	errExpect         = &protoError{code: "expect", status: http.StatusExpectationFailed, msg: "Expect is not supported"}
	errTransferCoding = &protoError{code: "transfer_coding", status: http.StatusNotImplemented, msg: "unsupported transfer coding"}
)

// maxFields bounds the header fields of one request (Apache's
// LimitRequestFields); max_header_bytes bounds their bytes.
const maxFields = 100

// head is a parsed request head, before the policy checks of checkHead.
type head struct {
	method, target string
	minor          int // HTTP/1.minor
	// contentLength is the Content-Length value, -1 when absent.
	contentLength int64
	chunked       bool // any Transfer-Encoding
	expect        bool
	close         bool // the client asks to close after the response
	keepAlive10   bool // HTTP/1.0 with Connection: keep-alive
}

// parser parses request heads into requests, reusing its memory from
// request to request: the header map, the values' backing array, the URL.
type parser struct {
	spans []span
	vals  []string
	url   url.URL
	hdr   http.Header
}

// parse parses the head raw (ending with the empty line; its header names
// are rewritten in place to their canonical form) into r. The request's
// strings (method, target, header names and values) are slices of one
// copy of the head: the one allocation of a request.
func (p *parser) parse(raw []byte, r *http.Request) (head, *protoError) {
	spans, minor, perr := scanHead(raw, p.spans[:0])
	p.spans = spans
	if perr != nil {
		return head{}, perr
	}
	if p.hdr == nil {
		p.hdr = make(http.Header, 16)
	}
	r.Header = p.hdr
	hd, vals, perr := parseHead(string(raw), spans, minor, r, &p.url, p.vals)
	p.vals = vals
	return hd, perr
}

// span is where one header field sits in the head, by offsets.
type span struct{ ks, ke, vs, ve int32 }

// scanHead checks the syntax of a request head b (request line and header
// fields, ending with the empty line) and canonicalizes the header names
// in place, recording where each field is in spans. It is strict: CRLF
// line ends only, no obs-fold, token characters in the method and header
// names, visible ASCII in the target, no control characters in values.
func scanHead(b []byte, spans []span) ([]span, int, *protoError) {
	// Request line: method SP target SP HTTP/1.x CRLF.
	eol := bytes.IndexByte(b, '\n')
	if eol < 1 || b[eol-1] != '\r' {
		return spans, 0, errLineEnd
	}
	minor, perr := scanRequestLine(b[:eol-1])
	if perr != nil {
		return spans, 0, perr
	}

	// Header fields: name ":" OWS value OWS CRLF, until an empty line.
	for i := eol + 1; ; {
		eol := bytes.IndexByte(b[i:], '\n')
		if eol < 1 || b[i+eol-1] != '\r' {
			return spans, 0, errLineEnd
		}
		eol += i
		if eol == i+1 {
			if i+2 != len(b) {
				return spans, 0, errLineEnd // bytes past the head: not ours to judge
			}
			break
		}
		if b[i] == ' ' || b[i] == '\t' {
			return spans, 0, errFold
		}
		colon := bytes.IndexByte(b[i:eol-1], ':')
		if colon < 1 {
			return spans, 0, errHeaderName
		}
		colon += i
		name := b[i:colon]
		if !isToken(name) {
			return spans, 0, errHeaderName
		}
		canonicalize(name)
		vs, ve := colon+1, eol-1
		for vs < ve && (b[vs] == ' ' || b[vs] == '\t') {
			vs++
		}
		for ve > vs && (b[ve-1] == ' ' || b[ve-1] == '\t') {
			ve--
		}
		for _, c := range b[vs:ve] {
			if c < ' ' && c != '\t' || c == 0x7f {
				return spans, 0, errHeaderValue // CTLs, bare CR included
			}
		}
		if len(spans) == maxFields {
			return spans, 0, errTooManyFields
		}
		spans = append(spans, span{int32(i), int32(colon), int32(vs), int32(ve)})
		i = eol + 1
	}
	return spans, minor, nil
}

// scanRequestLine checks a whole request line (without its CRLF) and
// returns the minor version.
func scanRequestLine(line []byte) (int, *protoError) {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		return 0, errRequestLine
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ')
	if sp2 < 0 {
		return 0, errRequestLine
	}
	sp2 += sp1 + 1
	if sp1 == 0 || !isToken(line[:sp1]) {
		return 0, errMethod
	}
	if sp2 == sp1+1 {
		return 0, errTarget // its bytes are checked by setURL
	}
	proto := line[sp2+1:]
	switch {
	case string(proto) == "HTTP/1.1":
		return 1, nil
	case string(proto) == "HTTP/1.0":
		return 0, nil
	case len(proto) == 8 && string(proto[:5]) == "HTTP/" && isDigit(proto[5]) && proto[6] == '.' && isDigit(proto[7]):
		return 0, errVersionNot11
	}
	return 0, errVersion
}

// errTLS is a TLS handshake sent to the plain listener: the connection is
// closed at once, without an answer the client could not read anyway.
var errTLS = errors.New("h1: TLS handshake on a plain HTTP connection")

// codeTLS is the refusal code of errTLS (Server.Refused).
const codeTLS = "tls_handshake"

// codeTLSHandshake is the refusal code of a TLS handshake that failed or
// took longer than ReadHeaderTimeout on a TLS listener.
const codeTLSHandshake = "tls_handshake_failed"

// tlsHandshake is the first byte of a TLS record carrying a handshake
// (a ClientHello), which no HTTP/1 request starts with.
const tlsHandshake = 0x16

// checkPartial judges the start b of a request head whose end has not
// arrived, so that a head which can never become valid is refused at once
// instead of held until server.read_header_timeout: a TLS handshake
// (errTLS), a line ended by a bare LF, a request line with a byte that no
// valid one has. from is where the bytes not checked before start (the
// bare-LF check resumes there); the request line is judged again each
// time until it is complete.
func checkPartial(b []byte, from int) error {
	if len(b) > 0 && b[0] == tlsHandshake {
		return errTLS
	}
	for i := max(from, 0); i < len(b); i++ {
		if b[i] == '\n' && (i == 0 || b[i-1] != '\r') {
			return errLineEnd
		}
	}
	if eol := bytes.IndexByte(b, '\n'); eol > 0 {
		if _, perr := scanRequestLine(b[:eol-1]); perr != nil {
			return perr
		}
		return nil
	}
	// The request line so far: a method of token characters, then visible
	// ASCII, then the start of "HTTP/d.d"; a CR may end it.
	line := b
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		if !isToken(line) {
			return errMethod
		}
		return nil
	}
	if sp1 == 0 || !isToken(line[:sp1]) {
		return errMethod
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	target := rest
	if sp2 >= 0 {
		target = rest[:sp2]
	}
	for _, c := range target {
		if c <= ' ' || c >= 0x7f {
			return errTarget
		}
	}
	if sp2 < 0 {
		return nil
	}
	const proto = "HTTP/d.d"
	version := rest[sp2+1:]
	if len(version) > len(proto) {
		return errVersion
	}
	for i, c := range version {
		switch p := proto[i]; {
		case p == 'd' && isDigit(c), p != 'd' && c == p:
		default:
			return errVersion
		}
	}
	return nil
}

// parseHead parses the head s (scanned by scanHead into spans, minor) into
// r and its header h (emptied first), with vals as the backing array of
// the header values. It applies net/http's rules on Host, Connection and
// Pragma, and reports what the server must check before serving: the
// body framing and Expect.
func parseHead(s string, spans []span, minor int, r *http.Request, u *url.URL, vals []string) (head, []string, *protoError) {
	hd := head{minor: minor, contentLength: -1}
	sp1 := strings.IndexByte(s, ' ')
	sp2 := sp1 + 1 + strings.IndexByte(s[sp1+1:], ' ')
	hd.method, hd.target = internMethod(s[:sp1]), s[sp1+1:sp2]

	h := r.Header
	clear(h)
	vals = vals[:0]
	hosts := 0
	var host string
	badCoding := false
	for _, f := range spans {
		k, v := s[f.ks:f.ke], s[f.vs:f.ve]
		switch k {
		case "Host":
			hosts++
			host = v
			continue // net/http keeps Host out of the header map
		case "Content-Length":
			if hd.contentLength >= 0 {
				return hd, vals, errContentLength
			}
			n, ok := parseLength(v)
			if !ok {
				return hd, vals, errContentLength
			}
			hd.contentLength = n
		case "Transfer-Encoding":
			// chunked, once: any other coding, or several, is 501, as
			// net/http answers (RFC 9112 section 6.1).
			if hd.chunked || !strings.EqualFold(v, "chunked") {
				badCoding = true
			}
			hd.chunked = true
		case "Expect":
			hd.expect = true
		}
		vv := h[k]
		if vv == nil {
			// One backing array for the values; capacity 1 so that an
			// append by a handler never writes into the next value.
			vals = append(vals, v)
			h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
		} else {
			h[k] = append(vv, v)
		}
	}
	if badCoding {
		return hd, vals, errTransferCoding
	}
	if hosts > 1 {
		return hd, vals, errManyHosts
	}
	if hosts == 0 && minor == 1 {
		return hd, vals, errNoHost
	}
	if hosts == 1 && !ValidHost(host) {
		return hd, vals, errBadHost
	}
	if p := h["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
	conn := h["Connection"]
	hasClose := len(conn) > 0 && httpguts.HeaderValuesContainsToken(conn, "close")
	if minor == 0 {
		hd.keepAlive10 = len(conn) > 0 && httpguts.HeaderValuesContainsToken(conn, "keep-alive")
		hd.close = hasClose || !hd.keepAlive10
	} else {
		hd.close = hasClose
	}

	if perr := setURL(r, u, hd.method, hd.target); perr != nil {
		return hd, vals, perr
	}
	r.Method = hd.method
	r.RequestURI = hd.target
	r.ProtoMajor, r.ProtoMinor = 1, minor
	r.Proto = "HTTP/1.1"
	if minor == 0 {
		r.Proto = "HTTP/1.0"
	}
	r.Host = r.URL.Host
	if r.Host == "" {
		r.Host = host
	} else if !ValidHost(r.Host) {
		return hd, vals, errBadHost
	}
	r.Close = hd.close
	r.Body = http.NoBody
	r.ContentLength = 0
	return hd, vals, nil
}

// checkHead applies the edge's policy to a parsed head: no request bodies
// (so no request smuggling: the server never reads one, and closes), no
// Expect.
func checkHead(hd *head) *protoError {
	if hd.chunked && hd.contentLength >= 0 {
		return errBody // both framings: the classic smuggling request
	}
	if hd.chunked || hd.contentLength > 0 {
		switch hd.method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return errBody
		}
		return errBodyMethod
	}
	if hd.expect {
		return errExpect
	}
	return nil
}

// setURL fills r.URL from the request target: origin-form ("/path?query")
// without escapes or unusual bytes directly into u, everything else
// (percent-escapes, absolute-form) through url.ParseRequestURI, as net/http
// does. The asterisk-form is accepted for OPTIONS only.
func setURL(r *http.Request, u *url.URL, method, target string) *protoError {
	*u = url.URL{}
	if target[0] == '/' {
		path, query, hasQuery := strings.Cut(target, "?")
		if plainPath(path) && validTarget(query) {
			u.Path, u.RawQuery = path, query
			u.ForceQuery = hasQuery && query == "" && strings.Count(target, "?") == 1
			r.URL = u
			return nil
		}
	}
	if !validTarget(target) {
		return errTarget
	}
	switch {
	case target[0] == '/':
		// Escapes or unusual bytes: net/url's parser.
	case target == "*":
		if method != http.MethodOptions {
			return errTarget
		}
	case !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://"):
		return errTarget // authority-form (CONNECT) and anything else
	}
	pu, err := url.ParseRequestURI(target)
	if err != nil {
		return errTarget
	}
	r.URL = pu
	return nil
}

// plainPath reports whether path needs no unescaping and no escaping: then
// url.ParseRequestURI would give Path == path and RawPath == "". Its bytes
// are all valid target bytes.
func plainPath(path string) bool {
	for i := 0; i < len(path); i++ {
		if !pathSafe[path[i]] {
			return false
		}
	}
	return true
}

// pathSafe marks the bytes a path keeps as they are in URL.EscapedPath,
// computed from net/url itself so that the fast path cannot drift from it.
var pathSafe = func() (t [256]bool) {
	for c := 0x21; c < 0x7f; c++ {
		if c == '%' || c == '?' || c == '#' {
			continue
		}
		p := "/" + string(rune(c))
		t[c] = (&url.URL{Path: p}).EscapedPath() == p
	}
	return t
}()

// validTarget: visible ASCII only (no '#': a fragment is never sent).
func validTarget(t string) bool {
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c >= 0x7f || c == '#' {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseLength reads a Content-Length value: digits only, at most 18.
func parseLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n, true
}

// isToken reports whether b is a non-empty RFC 9110 token.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChar[c] {
			return false
		}
	}
	return true
}

// tokenChar marks RFC 9110 tchar.
var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// canonicalize turns a valid header name into net/http's canonical form in
// place: upper case first and after each '-', lower case elsewhere.
func canonicalize(b []byte) {
	upper := true
	for i, c := range b {
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		} else if !upper && 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
}

// internMethod returns the usual methods as constants, so that the
// request's method does not keep the head's string alive.
func internMethod(m string) string {
	switch m {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	case http.MethodOptions:
		return http.MethodOptions
	}
	return m
}
