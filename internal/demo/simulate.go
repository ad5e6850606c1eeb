package demo

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/simulate"
	"github.com/smd-media/smd/internal/site"
)

// simulateFor is how long the dashboard's simulation plays.
const simulateFor = 90 * time.Second

// simulator runs a small mix of the simulator against the demo's edge:
// a few legitimate viewers of each hard kind and one pirate of each kind,
// for simulateFor, so that a visitor watches the pirates get caught on
// the dashboard and no legitimate viewer does.
func simulator(edge string, admin *client.Client, log *slog.Logger) site.Simulator {
	return func(ctx context.Context) (string, error) {
		c := simulate.DefaultConfig()
		c.Edge, c.API = edge, admin
		c.Duration = simulateFor
		c.Legit, c.Shared, c.Restreamers, c.Impersonators = 12, 2, 1, 1
		c.Wide, c.WideIntl, c.Relays, c.Downloaders4x, c.Downloaders10x = 1, 0, 1, 0, 1
		c.Households, c.CGNAT, c.Mobiles, c.Seekers, c.ABR, c.Pausers, c.TVs, c.LongVOD = 1, 1, 1, 1, 1, 1, 1, 1
		c.Log = log.With("part", "simulate")
		if err := c.Validate(); err != nil {
			return "", err
		}
		s, err := simulate.New(ctx, c)
		if err != nil {
			return "", err
		}
		rep, err := s.Run(ctx)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		if err := rep.WriteText(&b); err != nil {
			return "", err
		}
		return b.String(), nil
	}
}
