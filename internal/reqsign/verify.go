package reqsign

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Defaults of a Verifier.
const (
	// DefaultMaxSkew is how far a signature's date may be from the clock.
	DefaultMaxSkew = 5 * time.Minute
	// DefaultMaxBody bounds the body read to check its hash.
	DefaultMaxBody = 8 << 20
)

// Reason codes of a rejection: the "error" of the JSON body of a 401, or
// 413 for ReasonBodyTooLarge.
const (
	ReasonMissing      = "signature_missing"
	ReasonMalformed    = "signature_malformed"
	ReasonUnknownKey   = "signature_unknown_key"
	ReasonStale        = "signature_stale"
	ReasonMismatch     = "signature_mismatch"
	ReasonBodyTooLarge = "body_too_large"
)

// Error is a rejected request: the status and reason code to answer with.
type Error struct {
	Status int
	Reason string
	// Message is safe to show to the client.
	Message string
}

func (e *Error) Error() string { return "reqsign: " + e.Reason + ": " + e.Message }

// Verifier checks signed requests. Create it with NewVerifier; it is safe
// for concurrent use.
type Verifier struct {
	keys    map[string][]byte
	maxSkew time.Duration
	maxBody int64
	// Now is the verifier's clock; time.Now by default. Tests set it.
	Now func() time.Time
}

// NewVerifier returns a verifier of the given keys (key id to secret, each
// at least MinSecretLen bytes). maxSkew 0 means DefaultMaxSkew; maxBody 0
// means DefaultMaxBody.
func NewVerifier(keys map[string][]byte, maxSkew time.Duration, maxBody int64) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, errors.New("reqsign: no keys")
	}
	v := &Verifier{keys: make(map[string][]byte, len(keys)), maxSkew: maxSkew, maxBody: maxBody, Now: time.Now}
	for id, s := range keys {
		if err := checkKeyID(id); err != nil {
			return nil, err
		}
		if len(s) < MinSecretLen {
			return nil, fmt.Errorf("reqsign: secret of key %s is shorter than %d bytes", id, MinSecretLen)
		}
		v.keys[id] = bytes.Clone(s)
	}
	if v.maxSkew <= 0 {
		v.maxSkew = DefaultMaxSkew
	}
	if v.maxBody <= 0 {
		v.maxBody = DefaultMaxBody
	}
	return v, nil
}

// Verify checks r's signature. It reads the body (at most MaxBody bytes)
// and replaces r.Body with what it read, so that handlers can read it
// again. It returns the key id on success, or an *Error.
func (v *Verifier) Verify(r *http.Request) (string, error) {
	raw := r.Header.Get(HeaderSignature)
	if raw == "" {
		return "", &Error{http.StatusUnauthorized, ReasonMissing, "the request is not signed"}
	}
	sig, err := ParseSignature(raw)
	if err != nil {
		return "", &Error{http.StatusUnauthorized, ReasonMalformed, "X-Smd-Signature: want keyId=<id>,sig=<64 hex digits>"}
	}
	secret, ok := v.keys[sig.KeyID]
	if !ok {
		return "", &Error{http.StatusUnauthorized, ReasonUnknownKey, "the signature names an unknown key"}
	}
	date := r.Header.Get(HeaderDate)
	t, err := time.Parse(dateLayout, date)
	if err != nil {
		return "", &Error{http.StatusUnauthorized, ReasonMalformed, "X-Smd-Date: want UTC RFC 3339 such as 2026-01-02T15:04:05Z"}
	}
	if d := v.Now().Sub(t); d > v.maxSkew || d < -v.maxSkew {
		return "", &Error{http.StatusUnauthorized, ReasonStale, fmt.Sprintf("X-Smd-Date is more than %s from the server's clock", v.maxSkew)}
	}
	claimed := r.Header.Get(HeaderContent)
	if !isHex64(claimed) {
		return "", &Error{http.StatusUnauthorized, ReasonMalformed, "X-Smd-Content-Sha256: want 64 lower-case hex digits"}
	}
	body, err := v.readBody(r)
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(BodyHash(body)), []byte(claimed)) != 1 {
		return "", &Error{http.StatusUnauthorized, ReasonMismatch, "the body does not match the signed digest"}
	}
	c, err := Canonical(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, date, claimed, sig.KeyID)
	if err != nil {
		return "", &Error{http.StatusUnauthorized, ReasonMalformed, "the query does not parse"}
	}
	if subtle.ConstantTimeCompare([]byte(mac(secret, c)), []byte(sig.Sig)) != 1 {
		return "", &Error{http.StatusUnauthorized, ReasonMismatch, "the signature does not match the request"}
	}
	return sig.KeyID, nil
}

// readBody reads at most maxBody bytes and puts them back as r.Body.
func (v *Verifier) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > v.maxBody {
		return nil, &Error{http.StatusRequestEntityTooLarge, ReasonBodyTooLarge, fmt.Sprintf("the body is larger than %d bytes", v.maxBody)}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, v.maxBody+1))
	r.Body.Close()
	if err != nil {
		return nil, &Error{http.StatusBadRequest, ReasonMalformed, "the body could not be read"}
	}
	if int64(len(b)) > v.maxBody {
		return nil, &Error{http.StatusRequestEntityTooLarge, ReasonBodyTooLarge, fmt.Sprintf("the body is larger than %d bytes", v.maxBody)}
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	return b, nil
}

// Wrap returns a handler that passes only requests with a valid signature
// to next and answers the others with the Error's status and a JSON body
// {"error": "<reason>", "message": "..."}.
func (v *Verifier) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := v.Verify(r); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = &Error{http.StatusUnauthorized, ReasonMismatch, "the signature does not match the request"}
			}
			WriteError(w, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// WriteError writes e as a JSON error response.
func WriteError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{e.Reason, e.Message})
}
