// Command tokens writes many distinct smd tokens for the load benchmarks'
// first-seen runs (every request a token the edge has not verified yet):
// one request path per line, each with its own session id, bound to an IP.
//
//	go run ./bench/tokens -keys keys.json -n 200000 -ip 127.0.0.1 -path /o/1k.bin > paths.txt
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

func main() {
	keysFile := flag.String("keys", "", "key file: {kid: secret}, one key")
	n := flag.Int("n", 100000, "number of tokens")
	ip := flag.String("ip", "127.0.0.1", "viewer address the tokens bind")
	path := flag.String("path", "/o/1k.bin", "object path after the token")
	flag.Parse()
	if err := run(*keysFile, *n, *ip, *path); err != nil {
		fmt.Fprintln(os.Stderr, "tokens:", err)
		os.Exit(1)
	}
}

func run(keysFile string, n int, ip, path string) error {
	b, err := os.ReadFile(keysFile)
	if err != nil {
		return err
	}
	var secrets map[string]string
	if err := json.Unmarshal(b, &secrets); err != nil || len(secrets) != 1 {
		return fmt.Errorf("%s: want a JSON object with one key (%v)", keysFile, err)
	}
	var key *token.Key
	for _, k := range token.NewKeys(secrets) {
		key = k
	}
	s := &smde.Signer{Key: key}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	policy := &smde.Policy{Paths: []string{"/"}, IP: true, Session: true, Expiry: "+2h"}
	id := make([]byte, 9)
	for range n {
		rand.Read(id)
		sid := fmt.Sprintf("S%x", id)
		tok, err := s.Sign(policy, &smde.Viewer{IP: ip, SessionID: sid})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "/%s%s\n", tok.Token, path)
	}
	return w.Flush()
}
