package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"
)

// maxInputFile bounds the policy and viewer files and standard input.
const maxInputFile = 1 << 20

// readInput reads a file, or standard input for "-", up to maxInputFile.
func readInput(path string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInputFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInputFile {
		return nil, fmt.Errorf("larger than %d bytes", maxInputFile)
	}
	return b, nil
}

// parseHeaderLine reads a curl-style "Name: value" header.
func parseHeaderLine(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || !httpguts.ValidHeaderFieldName(name) {
		return "", "", fmt.Errorf(`-H %q: want "Name: value"`, s)
	}
	return textproto.CanonicalMIMEHeaderKey(name), strings.Trim(value, " \t"), nil
}

// parseHeaders reads repeated -H flags into an http.Header.
func parseHeaders(lines []string) (http.Header, error) {
	h := http.Header{}
	for _, l := range lines {
		name, value, err := parseHeaderLine(l)
		if err != nil {
			return nil, err
		}
		h.Add(name, value)
	}
	return h, nil
}

// parseAddr reads an IP address given with the named flag.
func parseAddr(flag, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s: %q is not an IP address", flag, s)
	}
	return a, nil
}

// parseTime reads RFC 3339, unix seconds, or a duration from now with a
// sign ("+3h", "-10m"); "" means now.
func parseTime(flag, s string) (time.Time, error) {
	now := time.Now()
	if s == "" {
		return now, nil
	}
	if s[0] == '+' || s[0] == '-' {
		d, err := time.ParseDuration(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: %q is not a duration such as +3h or -10m", flag, s)
		}
		return now.Add(d), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1e12 {
			return time.Time{}, fmt.Errorf("%s: %d is out of range", flag, n)
		}
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %q is not RFC 3339 (2026-01-02T15:04:05Z), unix seconds or +/-duration", flag, s)
	}
	return t, nil
}

// requestTarget returns the escaped path and query of a URL given as
// "http(s)://host/path?query", or of a target given as "/path?query".
func requestTarget(s string) (string, error) {
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		s = "http://localhost" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("URL: want http(s)://host/<token>/path or /<token>/path")
	}
	return u.RequestURI(), nil
}

// formatTime gives unix seconds as RFC 3339 UTC.
func formatTime(unix int64) string {
	return time.Unix(unix, 0).UTC().Format(time.RFC3339)
}

// relative says how far t is from now: "in 2h0m", "3m ago", or for an
// expiry in the past "expired 3m ago".
func relative(t, now time.Time, expiry bool) string {
	d := t.Sub(now)
	switch {
	case d > 0:
		return "in " + humanDuration(d)
	case expiry:
		return "expired " + humanDuration(-d) + " ago"
	case d > -time.Second:
		return "now"
	}
	return humanDuration(-d) + " ago"
}

// humanDuration prints d to the second under a minute, to the minute under
// two days ("2h0m", "3m"), and in days and hours beyond ("30d4h").
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + "s"
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	d = d.Round(time.Hour)
	return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
}
