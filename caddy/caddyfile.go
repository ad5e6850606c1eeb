package smdcaddy

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("smd", parseCaddyfile)
	// Before the handlers that serve: no `order` line needed.
	httpcaddyfile.RegisterDirectiveOrder("smd", httpcaddyfile.Before, "reverse_proxy")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile reads the smd directive:
//
//	smd {
//		keys_file <path>
//		keys_reload <duration>
//		revoked_file <path>
//		revoked_reload <duration>
//		route <prefix> [enforce|log|off]
//		trusted_proxies <cidr...>
//		client_ip_header <header>
//		geo_headers
//		status <reason> <code>
//		clock_skew <duration>
//		allowed_origins <origin...>
//		access_log <path>
//		id <name>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch key := d.Val(); key {
		case "keys_file", "revoked_file", "client_ip_header", "access_log", "id":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			switch key {
			case "keys_file":
				h.KeysFile = v
			case "revoked_file":
				h.RevokedFile = v
			case "client_ip_header":
				h.ClientIPHeader = v
			case "access_log":
				h.AccessLog = v
			case "id":
				h.ID = v
			}
		case "keys_reload", "revoked_reload", "clock_skew":
			v, err := oneArg(d)
			if err != nil {
				return err
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil || dur < 0 {
				return d.Errf("%s: %q is not a duration", key, v)
			}
			switch key {
			case "keys_reload":
				h.KeysReload = caddy.Duration(dur)
			case "revoked_reload":
				h.RevokedReload = caddy.Duration(dur)
			case "clock_skew":
				h.ClockSkew = caddy.Duration(dur)
			}
		case "route":
			args := d.RemainingArgs()
			if len(args) < 1 || len(args) > 2 {
				return d.Errf("route: want <prefix> [enforce|log|off]")
			}
			r := Route{Prefix: args[0]}
			if len(args) == 2 {
				r.Mode = args[1]
			}
			h.Routes = append(h.Routes, r)
		case "trusted_proxies", "allowed_origins":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			if key == "trusted_proxies" {
				h.TrustedProxies = append(h.TrustedProxies, args...)
			} else {
				h.AllowedOrigins = append(h.AllowedOrigins, args...)
			}
		case "geo_headers":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.GeoHeaders = true
		case "status":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Errf("status: want <reason> <code>")
			}
			code, err := strconv.Atoi(args[1])
			if err != nil || code < 400 || code > 599 {
				return d.Errf("status: %q is not a 4xx or 5xx status", args[1])
			}
			if h.Status == nil {
				h.Status = map[string]int{}
			}
			h.Status[args[0]] = code
		default:
			return d.Errf("unknown smd option %q", key)
		}
	}
	return nil
}

// oneArg is the single argument of the current option.
func oneArg(d *caddyfile.Dispenser) (string, error) {
	if !d.NextArg() {
		return "", d.ArgErr()
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.ArgErr()
	}
	return v, nil
}

var _ caddyfile.Unmarshaler = (*Handler)(nil)
