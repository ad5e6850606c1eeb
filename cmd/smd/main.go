// Command smd issues, inspects and verifies SMDE-compatible media tokens.
//
// See docs/cli.md for every command and flag.
package main

import "os"

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
