package node

import (
	"errors"
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
// pipeline refuses changes nothing. The key file, the revoked file and the
// TLS certificate files (when the edge has them) are read again at once,
// changed or not.
func (s *EdgeServer) Reload(cfg *config.Edge) (restart []string, err error) {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	for _, reread := range s.rereads {
		reread()
	}
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
	return fieldsChanged(reflect.ValueOf(*old), reflect.ValueOf(*cur), func(name string) bool {
		return reloadable[name] || name == "geo" && geoSwitchable(old.Geo, cur.Geo)
	})
}

// fieldsChanged lists the YAML names of the exported fields of two
// structs of one type that differ, but those skip names (an inline
// struct's name is "").
func fieldsChanged(ov, cv reflect.Value, skip func(name string) bool) []string {
	var out []string
	t := ov.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || skip(name) {
			continue
		}
		if !reflect.DeepEqual(ov.Field(i).Interface(), cv.Field(i).Interface()) {
			out = append(out, name)
		}
	}
	return out
}

// Reload applies a new, validated configuration to smd serve or smd
// control: the edge's part as EdgeServer.Reload does (smd serve); every
// other changed key (control, detector, embedded NATS, ...) needs a
// restart and is returned with the edge's.
func (n *Node) Reload(cfg *config.Serve) (restart []string, err error) {
	n.reloadMu.Lock()
	defer n.reloadMu.Unlock()
	old := n.serveCfg
	if old == nil {
		return nil, errors.New("reload: not smd serve or smd control")
	}
	restart = fieldsChanged(reflect.ValueOf(*old), reflect.ValueOf(*cfg), func(name string) bool { return name == "" })
	if n.Edge != nil {
		r, err := n.Edge.Reload(&cfg.Edge)
		if err != nil {
			return nil, err
		}
		restart = append(restart, r...)
	} else {
		restart = append(restart, restartKeys(&old.Edge, &cfg.Edge)...)
	}
	next := *old
	next.Edge = cfg.Edge
	n.serveCfg = &next
	return restart, nil
}
