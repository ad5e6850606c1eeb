// Package h1 is the edge's own HTTP/1.1 server: with server.engine "lean"
// (the default) it serves the plain HTTP listener with the edge's
// http.Handler, in place of net/http's server, and HTTP/1.1 on the HTTPS
// listener over crypto/tls (a connection whose client chose HTTP/2 by
// ALPN is handed to a net/http Fallback after the handshake). The admin
// listener keeps net/http.
//
// # Why a custom server
//
// A measured hot path. On cached 1 KB objects with a token check, smd
// served 0.67 times nginx's requests per CPU second (BENCHMARKS.md, issue
// 3); its CPU profile put about 45% in net/http itself (request parsing,
// header maps and clones, per-request deadlines, the background read
// goroutine and its extra read system call) and 26 allocations per
// request, most of them net/http's, against 18% in smd's pipeline. This
// server keeps the pipeline and replaces only that part. Measured side by
// side (internal/edge BenchmarkEdgeHit1KB: a whole edge, one loopback
// keep-alive connection, a minimal client included; medians of 5 runs of
// CPU time per request): net/http 17.1 µs and 19 allocations, lean 9.0 µs
// and 3 (one of them the server's: one copy of the request head), a ratio
// of 0.53; internal/h1 BenchmarkServe1KB, without the pipeline: 12.7 µs
// against 5.8 µs. In the lean profile, the server's own work outside
// system calls is about a tenth of the process's CPU, the pipeline a
// quarter, and the read and write system calls (client's and server's)
// nearly half.
//
// # What it does
//
// One goroutine per connection, a read buffer and a write buffer from
// pools, and everything a request needs kept in the connection and reused:
// the *http.Request, its URL and header map, the ResponseWriter and its
// header map. A response is written once its handler returns (or
// flushes), in one write system call with its head when it fits the 4 KiB
// buffer, else in one writev. Keep-alive, pipelining, HTTP/1.0 (keep-alive
// on request, close-delimited bodies), HEAD, Content-Length or chunked responses (a body of
// unknown length that ends within 2 KiB gets a Content-Length, as with
// net/http), a Date header from a clock refreshed every 100 ms, graceful
// Shutdown. Requests for paths Server.Handoff chooses (the API, which takes
// bodies) hand their connection to a net/http Server.
//
// Timeouts have net/http's meaning (read header: from a request's first
// byte, or from the accept for a connection's first request; idle: between
// requests; write: from the end of a request head) but are set only when
// the deadline on the socket would be early or more than a slack late, so
// a busy connection touches its deadline about once a second instead of
// four times per request: a timeout d fires between d and
// d + min(max(d/8, 200 ms), 1 s) + 100 ms.
//
// A request's context ends when the client goes away, as with net/http,
// but the background read that tells is only started when a handler waits
// on the context (a cache miss waiting for the origin), never for a cache
// hit. It also ends when Shutdown gives up waiting.
//
// # What it refuses
//
// The parser is strict and the edge takes no request bodies, so there is
// nothing to smuggle: the server answers these itself and closes the
// connection, never reading what follows. 400: a line not ended by CRLF
// (bare CR or LF), obs-fold, a non-token character in the method or a
// header name (a space before the colon included), a control character
// in a value, a target other than origin-form, absolute-form (http and
// https) or "*" (OPTIONS only), raw non-ASCII or '#' in the target, no
// Host (HTTP/1.1), several or a malformed one, Content-Length repeated or
// not plain digits, both Content-Length and Transfer-Encoding, any
// Transfer-Encoding or a Content-Length above 0 on GET, HEAD or OPTIONS
// (405 for other methods). 417: Expect. 431: a head over MaxHeaderBytes or
// with more than 100 fields. 501: a Transfer-Encoding other than one
// "chunked". 505: a version other than HTTP/1.0 and 1.1. A head that can
// never become valid (a bare LF, a byte no request line has) is refused
// as soon as that byte arrives, and a TLS handshake (a first byte of
// 0x16) closes the connection at once, unanswered. Server.Refused is told
// a code for each refusal, for metrics.
//
// Guard gives a net/http server the same judgement: it holds each head
// back until this parser has judged it, and Strict answers the refusals.
//
// Whatever it accepts, net/http's parser reads as the same request
// (FuzzParseRequest checks it). Differences by design: it refuses more
// (the list above: net/http accepts bare LF, obs-fold, repeated equal
// Content-Lengths, raw non-ASCII targets, HTTP/1.2 to 1.9, bodies);
// MaxHeaderBytes is exact (net/http allows 4 KiB more); responses are
// not sniffed for a Content-Type, their header fields are not sorted, and
// 1xx statuses from a handler are dropped, never sent.
//
// # The handler's side
//
// As net/http says, a handler must not use the request or the
// ResponseWriter after ServeHTTP returns; here they are reused for the
// connection's next request. The ResponseWriter is an http.Flusher
// (FlushError too, for http.ResponseController); there is no Hijack, no
// trailers, no request body (Body is http.NoBody), and no
// ResponseController deadlines. A panic closes the connection after what
// the handler had committed (so a cut body cannot pass for a whole one);
// http.ErrAbortHandler is not logged.
package h1
