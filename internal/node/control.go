package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/asset"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/control/apikey"
	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/reqsign"
	"github.com/smd-media/smd/internal/revocation"
	"github.com/smd-media/smd/internal/rotation"
	"github.com/smd-media/smd/internal/seal"
)

// controlRole is the control plane: key rotation and the API.
type controlRole struct {
	rot *rotation.Rotator
	api *control.API
}

// startControl builds the rotator and the API on an open store and starts
// the rotation loop and the key watcher the token API signs with.
//
// revoked, when not nil, is the revocation watcher of the edge in the
// same process (smd serve), run by the edge: the API's sorted index of
// revoked sessions reads it rather than a second copy of the set.
func startControl(ctx context.Context, cfg *config.Serve, st *natsstore.Store, mk *seal.Key, bootstrap bool, revoked *revocation.Watcher,
	reg prometheus.Registerer, log *slog.Logger, run func(func() error)) (*controlRole, error) {
	k := &cfg.Control
	rot, err := rotation.New(rotation.Config{
		Keys: st.Keys, Edges: st.Edges, Leases: st.Leases, MasterKey: mk,
		Interval: k.RotationInterval.D(), Grace: k.RotationGrace.D(), MaxTokenLifetime: k.MaxTokenLifetime.D(),
		ClockSkew: max(5*time.Minute, 2*cfg.ClockSkew.D()),
		Log:       log.With("part", "rotation"), Registerer: reg,
	})
	if err != nil {
		return nil, err
	}
	// The ring must exist before the token API can sign: create it now if
	// this is the first control plane ever (the leader would, a moment
	// later).
	ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = rot.EnsureRing(ectx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("key ring: %w", err)
	}
	signing, err := keyring.NewWatcher(keyring.WatcherConfig{MasterKey: mk, Log: log.With("part", "signing-keys")})
	if err != nil {
		return nil, err
	}
	run(func() error { return rot.Run(ctx) })
	run(func() error { return signing.Run(ctx, st.Keys) })
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = signing.WaitReady(wctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("key ring: not loaded: %w", err)
	}

	keysFile := k.APIKeysFile
	if keysFile == "" {
		keysFile = filepath.Join(cfg.DataDir, "api-keys.json")
	}
	if bootstrap {
		b, err := apikey.Bootstrap(keysFile)
		if err != nil {
			return nil, err
		}
		if b != nil {
			log.Info("API keys created: the admin and issuer tokens are in these files (mode 0600)",
				"keys", b.File, "admin_token_file", b.AdminTokenFile, "issuer_token_file", b.IssuerTokenFile)
		}
	}
	cc := control.Config{
		APIKeysFile:         keysFile,
		PublicTokenEndpoint: k.PublicTokenEndpoint,
		TokenRate:           k.TokenRate,
		TokenBurst:          k.TokenBurst,
		TrustedProxies:      k.TrustedProxies,
		GeoHeaders:          k.GeoHeaders,
		ClientIPHeader:      k.ClientIPHeader,
		MaxTokenLifetime:    k.MaxTokenLifetime.D(),
		PlaybackScheme:      k.PlaybackScheme,
		// An operator's unrevoke of an automatic revocation holds the
		// detector off the session for one lookback, so the same
		// evidence does not revoke it again at once.
		UnrevokeHoldOff: cfg.Detector.Lookback.D(),
	}
	if rs := k.RequestSigning; rs.Enabled {
		secret, err := readSecret(rs.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("control.request_signing.secret_file: %w", err)
		}
		cc.RequireSignedRequests = true
		cc.SignatureKeys = map[string][]byte{rs.KeyID: secret}
		cc.SignatureMaxSkew = rs.MaxSkew.D()
	}
	// The revoked sessions in memory, sorted on demand, so that the
	// dashboard pages through 1,000,000 of them fast.
	if revoked == nil {
		revoked = revocation.NewWatcher(revocation.WatcherConfig{Conn: st.NC, Log: log.With("part", "revoked-index")})
		run(func() error { return revoked.Run(ctx, st.Revoked) })
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_keys_ring_revision", Help: "Revision of the key ring (smd_keys) this control plane reads: the current one."},
			func() float64 { return float64(signing.Revision()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "smd_control_revoked_revision", Help: "Revision of the revoked sessions (smd_revoked) this control plane reads: the current one."},
			func() float64 { return float64(revoked.Revision()) }),
	)
	api, err := control.New(cc, control.Deps{
		Assets:       asset.NewStore(st.JS, st.Assets),
		Sessions:     sessions{revocation.NewStore(st.JS, st.Revoked)},
		Keys:         keys{r: rot, signing: signing, interval: k.RotationInterval.D()},
		Edges:        st.Edges,
		Allowlist:    allowlist{revocation.NewAllowStore(st.JS, st.Allowed)},
		Detector:     sessionDetector{nc: st.NC, kv: st.Decisions},
		RevokedIndex: revocation.NewIndex(revoked),
		Timelines:    timelines{js: st.JS, now: time.Now},
		Metrics:      reg,
		Log:          log.With("part", "api"),
	})
	if err != nil {
		return nil, err
	}
	return &controlRole{rot: rot, api: api}, nil
}

// readSecret reads a shared secret file (at least 32 bytes, trailing
// newline dropped).
func readSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b = []byte(strings.TrimRight(string(b), "\r\n"))
	if len(b) < 32 {
		return nil, errors.New("the secret must be at least 32 bytes")
	}
	return b, nil
}

// apiProxy is the edge's /v1/ forwarder to a control plane, signing each
// request.
func apiProxy(p config.APIProxy) (http.Handler, error) {
	if p.URL == "" {
		return nil, nil
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return nil, fmt.Errorf("api.url: %w", err)
	}
	secret, err := readSecret(p.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("api.secret_file: %w", err)
	}
	return reqsign.NewProxy(u, p.KeyID, secret), nil
}

// serveAPI serves h on addr until ctx ends.
func serveAPI(ctx context.Context, addr string, h http.Handler, run func(func() error)) (string, error) {
	return serveHTTP(ctx, "control.listen", addr, h, run)
}

// serveHTTP serves h on addr (the setting key names it in errors) until
// ctx ends, then shuts down within 5 s.
func serveHTTP(ctx context.Context, key, addr string, h http.Handler, run func(func() error)) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", key, addr, err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	run(func() error {
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			hs.Shutdown(sctx)
		}()
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	return ln.Addr().String(), nil
}
