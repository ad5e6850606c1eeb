package simulate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/detect"
	"github.com/smd-media/smd/internal/node"
	"github.com/smd-media/smd/internal/origin"
)

// StackConfig configures the smd serve that [StartStack] runs.
type StackConfig struct {
	// Detector configures the stack's detector (detect.DefaultConfig(),
	// or a configuration file's detector: section); it must be enabled.
	Detector detect.Config
	// Log receives the stack's logs; nil discards them.
	Log *slog.Logger
	// Version is what the edge reports in its heartbeats; empty:
	// "simulate".
	Version string
}

// Stack is an smd serve run in the simulator's process, set up as
// docs/simulate.md asks of an external one: embedded NATS with its data in
// a temporary directory, the sample origin, and an edge that serves the
// API under /v1/, trusts 127.0.0.1/32 for X-Forwarded-For and reads
// countries from CloudFront-Viewer-Country, all on ephemeral loopback
// ports; playback URLs are http. Its detector hands every decision of
// every scorer, shadow ones included, to Decisions. Close stops it and
// removes the directory.
type Stack struct {
	// Edge is the edge's base URL.
	Edge string
	// API is a client of the control plane's API with the admin key.
	API *client.Client
	// Decisions holds every decision of the detector's scorers.
	Decisions *DecisionLog

	dir    string
	node   *node.Node
	origin *http.Server
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

// StartStack starts the stack and returns once its edge plays tokens.
// The stack runs until Close, whatever becomes of ctx after the start.
func StartStack(ctx context.Context, sc StackConfig) (_ *Stack, err error) {
	if err := sc.Detector.Validate(); err != nil {
		return nil, err
	}
	if !sc.Detector.Enabled {
		return nil, errors.New("detector.enabled: false: a stack of the simulator's own is there to measure its detector")
	}
	log := sc.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	version := sc.Version
	if version == "" {
		version = "simulate"
	}
	dir, err := os.MkdirTemp("", "smd-simulate-")
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	s := &Stack{dir: dir, Decisions: NewDecisionLog(sc.Detector)}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	o, err := origin.New(origin.Config{Logger: log.With("part", "origin")})
	if err != nil {
		return nil, fmt.Errorf("stack: origin: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("stack: origin: %w", err)
	}
	s.origin = &http.Server{
		Handler:           o,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.With("part", "origin").Handler(), slog.LevelWarn),
	}
	go s.origin.Serve(ln)

	c := config.DefaultServe()
	cfg := &c
	cfg.ID = "simulate"
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Listen = "127.0.0.1:0"
	cfg.Admin.Listen = ""
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	cfg.Geo.Source = "headers"
	cfg.Routes = []config.Route{{Prefix: "/", Origin: "http://" + ln.Addr().String()}}
	cfg.Control.PlaybackScheme = "http"
	cfg.Detector = sc.Detector
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	if s.node, err = node.StartServe(runCtx, cfg, version, log, node.WithDecisionHook(s.Decisions.Record)); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	s.Edge = "http://" + s.node.Edge.Addr
	key, err := os.ReadFile(filepath.Join(cfg.DataDir, "api-keys.admin"))
	if err != nil {
		return nil, fmt.Errorf("stack: admin key: %w", err)
	}
	if s.API, err = client.New(s.Edge, strings.TrimSpace(string(key))); err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	return s, nil
}

// Use points c at the stack: its edge, its API with the admin key, its
// detector's decisions (for the per-scorer table), and the active
// scorer's name as the scorer label.
func (s *Stack) Use(c *Config) {
	c.Edge, c.API, c.Decisions = s.Edge, s.API, s.Decisions
	c.ScorerLabel = s.Decisions.Scorers()[0].Name
}

// Close stops the stack and removes its directory. It may be called more
// than once.
func (s *Stack) Close() error {
	s.once.Do(func() {
		var errs []error
		if s.node != nil {
			if err := s.node.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stack: %w", err))
			}
		}
		s.cancel()
		if s.origin != nil {
			s.origin.Close()
		}
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, fmt.Errorf("stack: %w", err))
		}
		s.err = errors.Join(errs...)
	})
	return s.err
}

// LoadDetectorConfig reads the detector: section of a YAML file over the
// detector's defaults: a file of that section alone, or a whole smd serve
// configuration (its other sections are read, strictly, and ignored; no
// SMD_* variable applies). The result is not validated.
func LoadDetectorConfig(path string) (detect.Config, error) {
	c, err := config.LoadServe(path, true, func(string) (string, bool) { return "", false })
	if err != nil {
		return detect.Config{}, err
	}
	return c.Detector, nil
}
