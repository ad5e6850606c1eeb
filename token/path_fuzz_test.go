package token

import "testing"

// FuzzNormalizePath checks that NormalizePath never panics and that every
// path it accepts is in normal form (see checkNormalized).
func FuzzNormalizePath(f *testing.F) {
	for _, tc := range pathCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizePath(in)
		if err != nil {
			if out != "" {
				t.Errorf("NormalizePath(%q) returned %q with error %v", in, out, err)
			}
			return
		}
		if err := checkNormalized(out); err != nil {
			t.Errorf("NormalizePath(%q) = %q: %v", in, out, err)
		}
	})
}
