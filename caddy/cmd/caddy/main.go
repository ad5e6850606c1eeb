// Command caddy is Caddy with smd's http.handlers.smd module, the build
// xcaddy makes (xcaddy build --with github.com/smd-media/smd/caddy), for
// a checkout of smd: go build -o caddy-smd ./cmd/caddy (in caddy/).
// bench/dropin.sh measures it.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/smd-media/smd/caddy"
)

func main() {
	caddycmd.Main()
}
