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
//		nats {
//			urls <url...>
//			creds_file <path>
//			nkey_file <path>
//			user <name>
//			password <password>
//			token <token>
//			ca_file <path>
//			cert_file <path>
//			key_file <path>
//			master_key_file <path>
//			data_dir <path>
//			access_stream on|off
//		}
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
		case "nats":
			if d.NextArg() {
				return d.ArgErr()
			}
			n, err := unmarshalNATS(d)
			if err != nil {
				return err
			}
			h.NATS = n
		default:
			return d.Errf("unknown smd option %q", key)
		}
	}
	return nil
}

// unmarshalNATS reads the nats block of the smd directive.
func unmarshalNATS(d *caddyfile.Dispenser) (*NATS, error) {
	n := &NATS{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		if key == "urls" {
			if n.URLs = d.RemainingArgs(); len(n.URLs) == 0 {
				return nil, d.ArgErr()
			}
			continue
		}
		v, err := oneArg(d)
		if err != nil {
			return nil, err
		}
		switch key {
		case "creds_file":
			n.CredsFile = v
		case "nkey_file":
			n.NKeyFile = v
		case "user":
			n.User = v
		case "password":
			n.Password = v
		case "token":
			n.Token = v
		case "ca_file":
			n.CAFile = v
		case "cert_file":
			n.CertFile = v
		case "key_file":
			n.KeyFile = v
		case "master_key_file":
			n.MasterKeyFile = v
		case "data_dir":
			n.DataDir = v
		case "access_stream":
			if v != "on" && v != "off" {
				return nil, d.Errf("nats access_stream: %q is not on or off", v)
			}
			on := v == "on"
			n.AccessStream = &on
		default:
			return nil, d.Errf("unknown smd nats option %q", key)
		}
	}
	return n, nil
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
