package h1

import (
	"net/url"
	"testing"
)

func TestValidHost(t *testing.T) {
	tests := []struct {
		host string
		ok   bool
	}{
		{"cdn.example.com", true},
		{"cdn.example.com:8080", true},
		{"127.0.0.1", true},
		{"127.0.0.1:80", true},
		{"[::1]", true},
		{"[::1]:443", true},
		{"[2001:db8::7]:8443", true},
		{"[v1.fe80::a+en1]", false}, // IPvFuture: net/url cannot parse it, no client sends it
		{"xn--bcher-kva.example", true},
		{"a_b.example", true},   // sub-delims and unreserved
		{"example.com:", false}, // an empty port: RFC 3986 allows it, no client sends it (RFC 9110 4.2.3 says MUST NOT): refused
		{"", true},              // HTTP/1.0 without Host; HTTP/1.1 needs one (checked elsewhere)
		{"[::1", false},
		{"::1]", false},
		{"a:b:c", false},
		{"x:abc", false},
		{"[zz]", false},
		{"[::1]x", false},
		{"[::1]:8a", false},
		{"a b", false},
		{"a/b", false},
		{"a@b", false},
		{"a%zz", false},
		{"%41.example", false}, // percent-escapes: no client sends them in a Host
		{"exa\x00mple", false},
		{"caf\xc3\xa9.example", false},
		{"example.com:99999999999", false},
	}
	for _, tc := range tests {
		if got := ValidHost(tc.host); got != tc.ok {
			t.Errorf("ValidHost(%q) = %v, want %v", tc.host, got, tc.ok)
		}
	}
}

// FuzzValidHost: a Host ValidHost accepts is one net/url parses as the
// authority of a URL.
func FuzzValidHost(f *testing.F) {
	for _, s := range []string{"cdn.example.com:8080", "[::1]:443", "[v1.x]", "a:b:c", "[zz]", "%41.example", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if !ValidHost(h) || h == "" {
			return
		}
		if _, err := url.Parse("http://" + h + "/"); err != nil {
			t.Fatalf("ValidHost(%q), but net/url: %v", h, err)
		}
	})
}
