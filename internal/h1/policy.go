package h1

import (
	"fmt"
	"net/http"
	"strings"
)

// Strict is net/http's side of the lean server's refusals: a handler that
// answers a request Refusal refuses as the lean server does (the status
// and its text, Allow on a 405, the connection closed) and passes the
// others to next. HTTP/2 and HTTP/3 requests get the Host check only. refused, when
// set, is told the code of each refusal it makes (a Guard counts its own).
func Strict(next http.Handler, refused func(code string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var perr *protoError
		guarded := false
		switch {
		case r.ProtoMajor == 2 || r.ProtoMajor == 3:
			if !ValidHost(r.Host) {
				perr = errBadHost
			}
		default:
			perr, guarded = refusal(r)
		}
		if perr == nil {
			next.ServeHTTP(w, r)
			return
		}
		if refused != nil && !guarded {
			refused(perr.code)
		}
		status := perr.status
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Connection", "close")
		if status == http.StatusMethodNotAllowed {
			h.Set("Allow", "GET, HEAD, OPTIONS")
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "%d %s\n", status, http.StatusText(status))
	})
}

// Refusal returns the status the lean server answers a request with
// before any handler sees it (0: none, serve it), judged on a request
// that net/http parsed, so that a listener on net/http refuses what the
// lean one refuses: a version other than HTTP/1.0 and 1.1 (505), a
// malformed Host or request target (400), a body (400 on GET, HEAD and
// OPTIONS, 405 on other methods), Expect (417), more than 100 header
// fields (431). What net/http does not keep of the head (bare LF line
// ends, obs-fold, whitespace) cannot be judged from a parsed request: a
// Guard judges those on the bytes, and on a connection it judges,
// Refusal also returns the status of a head the Guard refused.
func Refusal(r *http.Request) int {
	if perr, _ := refusal(r); perr != nil {
		return perr.status
	}
	return 0
}

// refusal is Refusal's judgement, and whether it is a Guard's.
func refusal(r *http.Request) (*protoError, bool) {
	if perr := guardRefusal(r); perr != nil {
		return perr, true
	}
	if r.ProtoMajor != 1 || r.ProtoMinor > 1 {
		return errVersionNot11, false
	}
	if !ValidHost(r.Host) {
		return errBadHost, false
	}
	if !validRequestTarget(r.Method, r.RequestURI) {
		return errTarget, false
	}
	if len(r.Header["Content-Length"]) > 1 {
		return errContentLength, false
	}
	if len(r.TransferEncoding) > 0 || r.ContentLength != 0 {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return errBody, false
		}
		return errBodyMethod, false
	}
	if _, ok := r.Header["Expect"]; ok {
		return errExpect, false
	}
	n := 0
	for _, vs := range r.Header {
		n += len(vs)
	}
	if n >= maxFields { // and Host, which net/http keeps out of the map
		return errTooManyFields, false
	}
	return nil, false
}

// validRequestTarget applies setURL's rules on the form and bytes of a
// request target: origin-form, absolute-form with http or https, or "*"
// for OPTIONS; visible ASCII without '#'.
func validRequestTarget(method, target string) bool {
	if target == "" || !validTarget(target) {
		return false
	}
	switch {
	case target[0] == '/':
		return true
	case target == "*":
		return method == http.MethodOptions
	}
	return strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://")
}
