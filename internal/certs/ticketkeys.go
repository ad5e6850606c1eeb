package certs

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
)

// LoadTicketKeys reads TLS session ticket keys, one per file, for
// tls.Config.SetSessionTicketKeys: the first encrypts new tickets, all of
// them decrypt. A file holds 32 random bytes, raw (openssl rand 32) or as
// 64 hexadecimal digits (openssl rand -hex 32), a final newline allowed.
// Edges that share the files resume each other's sessions.
func LoadTicketKeys(files []string) ([][32]byte, error) {
	keys := make([][32]byte, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("tls session ticket key: %w", err)
		}
		var k [32]byte
		switch t := bytes.TrimRight(b, "\r\n"); {
		case len(b) == 32:
			copy(k[:], b)
		case len(t) == 64:
			if _, err := hex.Decode(k[:], t); err != nil {
				return nil, fmt.Errorf("tls session ticket key %s: 64 characters but not hexadecimal", f)
			}
		default:
			return nil, fmt.Errorf("tls session ticket key %s: holds %d bytes; want 32 random bytes, raw or as 64 hexadecimal digits (openssl rand -hex 32)", f, len(b))
		}
		if k == ([32]byte{}) {
			return nil, fmt.Errorf("tls session ticket key %s: all zero", f)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
