package edge

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/smd-media/smd/internal/config"
)

// route is a compiled config.Route.
type route struct {
	prefix string
	origin string // base URL without a trailing '/'
	mode   string
}

// routes matches origin paths, longest prefix first.
type routes []route

func compileRoutes(cfg []config.Route) (routes, error) {
	out := make(routes, 0, len(cfg))
	for _, r := range cfg {
		u, err := url.Parse(r.Origin)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r.Prefix, err)
		}
		mode := r.Mode
		if mode == "" {
			mode = config.ModeEnforce
		}
		out = append(out, route{prefix: r.Prefix, origin: strings.TrimSuffix(u.String(), "/"), mode: mode})
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].prefix) > len(out[j].prefix) })
	return out, nil
}

// match returns the route for an origin path, or nil.
func (rs routes) match(originPath string) *route {
	for i := range rs {
		if strings.HasPrefix(originPath, rs[i].prefix) {
			return &rs[i]
		}
	}
	return nil
}
