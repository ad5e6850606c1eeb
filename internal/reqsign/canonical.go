package reqsign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Header names.
const (
	HeaderDate      = "X-Smd-Date"
	HeaderContent   = "X-Smd-Content-Sha256"
	HeaderSignature = "X-Smd-Signature"
)

// algorithm opens the canonical string; it changes if the scheme does.
const algorithm = "SMD-HMAC-SHA256"

// dateLayout is the format of X-Smd-Date.
const dateLayout = "2006-01-02T15:04:05Z"

// MinSecretLen is the shortest secret accepted (256 bits).
const MinSecretLen = 32

// emptySHA256 is the hex SHA-256 of no bytes.
var emptySHA256 = BodyHash(nil)

// BodyHash returns the hex SHA-256 of a body.
func BodyHash(body []byte) string {
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:])
}

// Canonical returns the string that is signed for a request with the
// given method, escaped path, raw query, date, body hash and key id. The
// query is parsed and sorted, so a reordering of its pairs does not
// change the signature but any change of a name or value does.
func Canonical(method, escapedPath, rawQuery, date, bodyHash, keyID string) (string, error) {
	q, err := canonicalQuery(rawQuery)
	if err != nil {
		return "", err
	}
	return strings.Join([]string{algorithm, method, escapedPath, q, date, bodyHash, keyID}, "\n"), nil
}

// canonicalQuery sorts the pairs of a query by name then value and
// escapes both the same way whatever escaping the request used.
func canonicalQuery(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return "", fmt.Errorf("query: %w", err)
	}
	pairs := make([]string, 0, len(v))
	for name, values := range v {
		for _, val := range values {
			pairs = append(pairs, escape(name)+"="+escape(val))
		}
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&"), nil
}

// escape percent-encodes all but RFC 3986's unreserved characters.
func escape(s string) string {
	// url.QueryEscape writes ' ' as '+'; RFC 3986 wants %20.
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// mac returns the hex HMAC-SHA256 of the canonical string.
func mac(secret []byte, canonical string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(canonical))
	return hex.EncodeToString(m.Sum(nil))
}

// Sign adds the signature headers to r for a body whose hex SHA-256 is
// bodyHash ("" for a request without a body) at time now. r.URL must hold
// the path and query that the receiver will see.
func Sign(r *http.Request, keyID string, secret []byte, bodyHash string, now time.Time) error {
	if err := checkKeyID(keyID); err != nil {
		return err
	}
	if len(secret) < MinSecretLen {
		return fmt.Errorf("reqsign: secret of key %s is shorter than %d bytes", keyID, MinSecretLen)
	}
	if bodyHash == "" {
		bodyHash = emptySHA256
	}
	date := now.UTC().Format(dateLayout)
	c, err := Canonical(r.Method, r.URL.EscapedPath(), r.URL.RawQuery, date, bodyHash, keyID)
	if err != nil {
		return fmt.Errorf("reqsign: %w", err)
	}
	r.Header.Set(HeaderDate, date)
	r.Header.Set(HeaderContent, bodyHash)
	r.Header.Set(HeaderSignature, "keyId="+keyID+",sig="+mac(secret, c))
	return nil
}

// checkKeyID accepts 1-64 letters, digits, '.', '_' or '-'.
func checkKeyID(id string) error {
	if id == "" || len(id) > 64 {
		return errors.New("reqsign: key id must be 1-64 letters, digits, '.', '_' or '-'")
	}
	for i := 0; i < len(id); i++ {
		if !keyIDByte(id[i]) {
			return errors.New("reqsign: key id must be 1-64 letters, digits, '.', '_' or '-'")
		}
	}
	return nil
}

func keyIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}
