package node

import (
	"reflect"
	"strings"

	"github.com/smd-media/smd/internal/config"
)

// reloadable are the keys of an edge's configuration that a reload
// (SIGHUP) applies while it serves; every other key needs a restart.
var reloadable = map[string]bool{
	"routes": true, "trusted_proxies": true, "client_ip_header": true, "cors": true,
	"status": true, "clock_skew": true, "auth_path_prefix": true,
}

// Reload applies a new, validated configuration to the running edge: the
// keys that can change while it serves (routes, trusted_proxies,
// client_ip_header, cors, status, clock_skew, auth_path_prefix, and
// geo.source between none and headers) take effect for the next requests.
// It returns the keys that differ but need a restart (listeners, files,
// cache, NATS, ...), which keep their running values. A configuration the
// pipeline refuses changes nothing.
func (s *EdgeServer) Reload(cfg *config.Edge) (restart []string, err error) {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	restart = restartKeys(s.cfg, cfg)
	next := *s.cfg
	next.Routes, next.TrustedProxies, next.ClientIPHeader = cfg.Routes, cfg.TrustedProxies, cfg.ClientIPHeader
	next.CORS, next.Status, next.ClockSkew, next.AuthPathPrefix = cfg.CORS, cfg.Status, cfg.ClockSkew, cfg.AuthPathPrefix
	if geoSwitchable(s.cfg.Geo, cfg.Geo) {
		next.Geo = cfg.Geo
	}
	if err := s.Edge.Configure(PipelineConfig(&next)); err != nil {
		return nil, err
	}
	s.cfg = &next
	return restart, nil
}

// geoSwitchable reports whether the geo settings change only between the
// sources that open no database (none and headers).
func geoSwitchable(old, cur config.Geo) bool {
	noDB := func(g config.Geo) bool { return g.Source != "mmdb" && g.ASNFile == "" }
	return noDB(old) && noDB(cur)
}

// restartKeys lists the top-level keys (by their YAML names) that differ
// between old and cur and that a reload cannot apply.
func restartKeys(old, cur *config.Edge) []string {
	var out []string
	ov, cv := reflect.ValueOf(*old), reflect.ValueOf(*cur)
	t := ov.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" || reloadable[name] {
			continue
		}
		if name == "geo" && geoSwitchable(old.Geo, cur.Geo) {
			continue
		}
		if !reflect.DeepEqual(ov.Field(i).Interface(), cv.Field(i).Interface()) {
			out = append(out, name)
		}
	}
	return out
}
