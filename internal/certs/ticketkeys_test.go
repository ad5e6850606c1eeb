package certs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadTicketKeys(t *testing.T) {
	dir := t.TempDir()
	raw := strings.Repeat("k", 32)
	hexKey := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, content, err string
		want               byte // the key's first byte
	}{
		{"raw", raw, "", 'k'},
		{"hex", hexKey, "", 0xab},
		{"hex with a newline", hexKey + "\n", "", 0xab},
		{"hex with CRLF", hexKey + "\r\n", "", 0xab},
		{"raw ending in a newline byte", strings.Repeat("n", 31) + "\n", "", 'n'},
		{"short", "abc", "holds 3 bytes", 0},
		{"64 non-hex characters", strings.Repeat("zz", 32), "not hexadecimal", 0},
		{"nginx's 80-byte key", strings.Repeat("x", 80), "holds 80 bytes", 0},
		{"all zero", strings.Repeat("00", 32), "all zero", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(f, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			keys, err := LoadTicketKeys([]string{f})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), tc.content) && len(tc.content) >= 32 {
					t.Fatalf("the error shows the key: %v", err)
				}
				return
			}
			if err != nil || len(keys) != 1 || keys[0][0] != tc.want {
				t.Fatalf("%v, %v", keys, err)
			}
		})
	}
	if _, err := LoadTicketKeys([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("a missing file: no error")
	}
}
