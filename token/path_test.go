package token

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// pathCase is one row of the NormalizePath table. want is the expected
// output when err is nil.
type pathCase struct {
	name string
	in   string
	want string
	err  error
}

// pathCases is shared by TestNormalizePath and the seed corpus of
// FuzzNormalizePath.
var pathCases = []pathCase{
	// Unchanged.
	{name: "root", in: "/", want: "/"},
	{name: "plain", in: "/vod/movie1/index.m3u8", want: "/vod/movie1/index.m3u8"},
	{name: "trailing slash", in: "/vod/movie1/", want: "/vod/movie1/"},
	{name: "double slash kept", in: "/vod//movie1", want: "/vod//movie1"},
	{name: "leading double slash kept", in: "//vod", want: "//vod"},
	{name: "dots inside names", in: "/a.b/..c/c../...", want: "/a.b/..c/c../..."},
	{name: "semicolon param", in: "/a;v=1/b", want: "/a;v=1/b"},
	{name: "bare semicolon segment", in: "/;/a", want: "/;/a"},
	{name: "sub-delims and colon", in: "/a:b@c!$&'()*+,=~-_", want: "/a:b@c!$&'()*+,=~-_"},

	// Dot segments.
	{name: "dot", in: "/a/./b", want: "/a/b"},
	{name: "dot dot", in: "/a/b/../c", want: "/a/c"},
	{name: "trailing dot", in: "/a/b/.", want: "/a/b/"},
	{name: "trailing dot dot", in: "/a/b/..", want: "/a/"},
	{name: "trailing dot slash", in: "/a/b/./", want: "/a/b/"},
	{name: "trailing dot dot slash", in: "/a/b/../", want: "/a/"},
	{name: "root dot", in: "/.", want: "/"},
	{name: "root dot slash", in: "/./", want: "/"},
	{name: "dot dot to root", in: "/a/..", want: "/"},
	{name: "other title", in: "/vod/m1/../m2/seg.ts", want: "/vod/m2/seg.ts"},
	{name: "many dot dots", in: "/a/b/c/../../d", want: "/a/d"},
	{name: "dot then double slash", in: "/.//a", want: "//a"},
	{name: "dot dot over empty segment", in: "//../a", want: "/a"},

	// Escape above the root.
	{name: "escape root", in: "/..", err: ErrPathEscape},
	{name: "escape root slash", in: "/../", err: ErrPathEscape},
	{name: "escape after name", in: "/a/../..", err: ErrPathEscape},
	{name: "escape deep", in: "/a/b/../../../c", err: ErrPathEscape},
	{name: "escape encoded", in: "/%2e%2e/x", err: ErrPathEscape},
	{name: "escape encoded upper", in: "/%2E%2E/x", err: ErrPathEscape},
	{name: "escape half encoded", in: "/.%2e/x", err: ErrPathEscape},

	// Decoding of unreserved characters.
	{name: "decode letter", in: "/%41b", want: "/Ab"},
	{name: "decode lower letter", in: "/%61", want: "/a"},
	{name: "decode digit", in: "/%30", want: "/0"},
	{name: "decode tilde", in: "/%7e", want: "/~"},
	{name: "decode tilde upper", in: "/%7E", want: "/~"},
	{name: "decode dash underscore", in: "/%2d%5f", want: "/-_"},
	{name: "decode dot lower", in: "/a%2eb", want: "/a.b"},
	{name: "decode dot upper", in: "/a%2Eb", want: "/a.b"},
	{name: "encoded dot segment", in: "/a/%2e/b", want: "/a/b"},
	{name: "encoded dot dot segment", in: "/vod/m1/%2e%2e/m2/", want: "/vod/m2/"},
	{name: "encoded trailing dot dot", in: "/a/b/%2E%2e", want: "/a/"},

	// Other escapes are kept, in upper case.
	{name: "utf8 upper-cased", in: "/caf%c3%a9", want: "/caf%C3%A9"},
	{name: "utf8 kept", in: "/caf%C3%A9", want: "/caf%C3%A9"},
	{name: "space kept", in: "/a%20b", want: "/a%20b"},
	{name: "percent kept", in: "/100%25", want: "/100%25"},
	{name: "double encoded dot not a dot", in: "/%252e", want: "/%252e"},
	{name: "double encoded dot dot not a dot dot", in: "/a/%252e%252e/b", want: "/a/%252e%252e/b"},
	{name: "encoded question mark kept", in: "/a%3fb", want: "/a%3Fb"},
	{name: "encoded hash kept", in: "/a%23b", want: "/a%23b"},
	{name: "encoded semicolon kept", in: "/..%3b/a", want: "/..%3B/a"},
	{name: "lower-case escape upper-cased", in: "/a%3b", want: "/a%3B"},
	{name: "mixed-case escape upper-cased", in: "/a%C3%a9", want: "/a%C3%A9"},
	{name: "canonical escape then dot dot", in: "/a%20b/../c", want: "/c"},
	{name: "canonical escape then bad escape", in: "/%20%zz", err: ErrPathSyntax},
	{name: "canonical escape then encoded slash", in: "/%20%2F", err: ErrPathSyntax},
	{name: "canonical escape then raw space", in: "/%20 ", err: ErrPathSyntax},
	{name: "canonical escape at end", in: "/a%C3", want: "/a%C3"},

	// Refused encodings.
	{name: "encoded slash", in: "/a%2fb", err: ErrPathSyntax},
	{name: "encoded slash upper", in: "/a%2Fb", err: ErrPathSyntax},
	{name: "encoded backslash", in: "/a%5cb", err: ErrPathSyntax},
	{name: "encoded NUL", in: "/a%00", err: ErrPathSyntax},
	{name: "encoded unit separator", in: "/a%1f", err: ErrPathSyntax},
	{name: "encoded DEL", in: "/a%7f", err: ErrPathSyntax},
	{name: "encoded newline", in: "/a%0a", err: ErrPathSyntax},
	{name: "bad escape alone", in: "/%", err: ErrPathSyntax},
	{name: "bad escape short", in: "/%2", err: ErrPathSyntax},
	{name: "bad escape short mid", in: "/a%2/b", err: ErrPathSyntax},
	{name: "bad escape not hex", in: "/%zz", err: ErrPathSyntax},
	{name: "bad escape half hex", in: "/%2g", err: ErrPathSyntax},

	// Refused raw bytes.
	{name: "backslash", in: `/a\b`, err: ErrPathSyntax},
	{name: "backslash traversal", in: `/a/..\..\b`, err: ErrPathSyntax},
	{name: "space", in: "/a b", err: ErrPathSyntax},
	{name: "tab", in: "/a\tb", err: ErrPathSyntax},
	{name: "newline", in: "/a\nb", err: ErrPathSyntax},
	{name: "NUL", in: "/a\x00", err: ErrPathSyntax},
	{name: "DEL", in: "/a\x7f", err: ErrPathSyntax},
	{name: "hash", in: "/a#b", err: ErrPathSyntax},
	{name: "question mark", in: "/a?b=1", err: ErrPathSyntax},
	{name: "high byte", in: "/caf\xc3\xa9", err: ErrPathSyntax},
	{name: "byte 0x80", in: "/\x80", err: ErrPathSyntax},
	{name: "byte 0xff", in: "/\xff", err: ErrPathSyntax},
	{name: "raw byte after escape", in: "/%41\xff", err: ErrPathSyntax},
	{name: "empty", in: "", err: ErrPathSyntax},
	{name: "no leading slash", in: "a/b", err: ErrPathSyntax},
	{name: "dot relative", in: "./a", err: ErrPathSyntax},
	{name: "encoded leading slash", in: "%2fa", err: ErrPathSyntax},

	// Servlet-style traversal.
	{name: "dot dot semicolon", in: "/a/..;/b", err: ErrPathSyntax},
	{name: "dot dot semicolon param", in: "/a/..;x=1/b", err: ErrPathSyntax},
	{name: "dot semicolon", in: "/a/.;x/b", err: ErrPathSyntax},
	{name: "trailing dot dot semicolon", in: "/a/..;", err: ErrPathSyntax},
	{name: "encoded dot dot semicolon", in: "/a/%2e%2e;/b", err: ErrPathSyntax},
	{name: "dot dot semicolon at root", in: "/..;/b", err: ErrPathSyntax},
}

func TestNormalizePath(t *testing.T) {
	for _, tc := range pathCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizePath(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("NormalizePath(%q) = %q, %v; want error %v", tc.in, got, err, tc.err)
				}
				if got != "" {
					t.Errorf("NormalizePath(%q) returned %q with its error; want \"\"", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizePath(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
			}
			if err := checkNormalized(got); err != nil {
				t.Errorf("NormalizePath(%q) = %q: %v", tc.in, got, err)
			}
		})
	}
}

// TestNormalizePathUnchangedNoAlloc checks that a path needing no change is
// returned as is, without allocating.
func TestNormalizePathUnchangedNoAlloc(t *testing.T) {
	for _, tc := range pathCases {
		if tc.err != nil || tc.in != tc.want {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			assertNoAlloc(t, tc.in)
		})
	}
}

func assertNoAlloc(t *testing.T, in string) {
	t.Helper()
	var got string
	allocs := testing.AllocsPerRun(100, func() {
		got, _ = NormalizePath(in)
	})
	if allocs != 0 {
		t.Errorf("NormalizePath(%q) allocates %v times; want 0", in, allocs)
	}
	if got != in {
		t.Errorf("NormalizePath(%q) = %q; want it unchanged", in, got)
	}
	if len(in) > 0 && unsafe.StringData(got) != unsafe.StringData(in) {
		t.Errorf("NormalizePath(%q) returned a copy; want the same string", in)
	}
}

// checkNormalized reports what is wrong with out, an output NormalizePath
// accepted: it must start with '/', contain only printable ASCII other than
// '\', '#' and '?', keep only escapes of two upper-case hex digits that
// NormalizePath would not decode or refuse, have no "." or ".." segment
// (with or without a ';' parameter), and normalize to itself.
func checkNormalized(out string) error {
	if !strings.HasPrefix(out, "/") {
		return errors.New("output does not start with '/'")
	}
	for i := 0; i < len(out); i++ {
		c := out[i]
		if c <= ' ' || c >= 0x7f || c == '\\' || c == '#' || c == '?' {
			return fmt.Errorf("output has byte %#02x at %d", c, i)
		}
		if c != '%' {
			continue
		}
		if i+2 >= len(out) || !isUpperHex(out[i+1]) || !isUpperHex(out[i+2]) {
			return fmt.Errorf("output has an escape at %d that is not '%%' and two upper-case hex digits", i)
		}
		hi, _ := unhex(out[i+1])
		lo, _ := unhex(out[i+2])
		switch v := hi<<4 | lo; {
		case isUnreserved(v):
			return fmt.Errorf("output keeps an escape of unreserved %q at %d", v, i)
		case v < 0x20 || v == 0x7f || v == '/' || v == '\\':
			return fmt.Errorf("output keeps an escape of %#02x at %d", v, i)
		}
		i += 2
	}
	for _, seg := range strings.Split(out[1:], "/") {
		if j := strings.IndexByte(seg, ';'); j >= 0 {
			seg = seg[:j]
		}
		if seg == "." || seg == ".." {
			return errors.New("output has a dot segment")
		}
	}
	// Redundant with the segment loop above, but states the property as
	// the design does.
	if strings.Contains(out, "/../") || strings.Contains(out, "/./") || strings.HasSuffix(out, "/..") {
		return errors.New("output has a dot segment")
	}
	again, err := NormalizePath(out)
	if err != nil {
		return fmt.Errorf("output is refused when normalized again: %v", err)
	}
	if again != out {
		return fmt.Errorf("output normalizes again to %q: not idempotent", again)
	}
	return nil
}

func isUpperHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F'
}
