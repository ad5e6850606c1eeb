package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/smd-media/smd/internal/control/client"
)

// defaultAssetJSON is the asset the simulator creates: the sample origin's
// simulated live stream, tokens bound to a session and nothing else.
//
// No IP binding, on purpose: a token bound to the viewer's address cannot
// be shared at all, which is the point of binding it, but most services
// cannot bind it, since a phone changes address when it moves from Wi-Fi
// to cellular mid-session. Sharing can then only be caught from the
// traffic, which is what the detector does and what a run measures. The
// session binding (ssn) gives each token the session id that revocations
// name.
func defaultAssetJSON(id, hostname string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id":                id,
		"url_path":          DefaultAssetPath,
		"endpoint_hostname": hostname,
		"token_policy": map[string]any{
			"ssn":   true,
			"paths": []string{path.Dir(DefaultAssetPath) + "/"},
			"exp":   "+6h",
		},
	})
	return b
}

// defaultVODAssetJSON is the asset of the VOD kinds: a four-hour title of
// the sample origin, bound as the default asset is.
func defaultVODAssetJSON(id, hostname string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id":                id,
		"url_path":          DefaultVODPath,
		"endpoint_hostname": hostname,
		"token_policy": map[string]any{
			"ssn":   true,
			"paths": []string{path.Dir(DefaultVODPath) + "/"},
			"exp":   "+6h",
		},
	})
	return b
}

// defaultExcAssetJSON is the asset of impersonators' tokens: as the
// default asset, but the stream's directory is an exc path, which grants
// on the token's signature and times alone.
func defaultExcAssetJSON(id, hostname string) []byte {
	b, _ := json.Marshal(map[string]any{
		"id":                id,
		"url_path":          DefaultAssetPath,
		"endpoint_hostname": hostname,
		"token_policy": map[string]any{
			"ssn":   true,
			"paths": []string{DefaultAssetPath},
			"exc":   []string{path.Dir(DefaultAssetPath) + "/"},
			"exp":   "+6h",
		},
	})
	return b
}

// ensureAsset creates the default asset when it is absent. An API key that
// may not read or create assets (an issuer key) is no error here: the
// first token tells whether the asset exists.
func ensureAsset(ctx context.Context, api *client.Client, id string, edge *url.URL, body func(id, hostname string) []byte) error {
	_, err := api.Asset(ctx, id)
	var ae *client.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized):
		return nil
	case !errors.As(err, &ae) || ae.Status != http.StatusNotFound:
		return fmt.Errorf("asset %s: %w", id, err)
	}
	_, err = api.CreateAsset(ctx, body(id, edge.Scheme+"://"+edge.Host))
	if errors.As(err, &ae) && ae.Code == "asset_exists" {
		return nil // another run made it meanwhile
	}
	if err != nil {
		return fmt.Errorf("create asset %s: %w", id, err)
	}
	return nil
}

// checkToken says why a token of the asset cannot serve the simulation.
func checkToken(asset string, t *client.Token) error {
	p := &t.TokenPolicy
	switch {
	case p.IP:
		return fmt.Errorf("asset %s binds the viewer's IP address: its tokens cannot be shared (or "+
			"moved to a new network), so there is nothing to detect; use an asset without IP binding", asset)
	case p.UA, p.Referer:
		return fmt.Errorf("asset %s binds the User-Agent or Referer header: replays from other "+
			"devices would be refused before any detector sees them; use an asset without header binding", asset)
	case t.SessionID == "":
		return fmt.Errorf("asset %s binds no session (token_policy.ssn): sessions cannot be told apart or revoked", asset)
	}
	u, err := url.Parse(t.PlaybackURL)
	if err != nil {
		return fmt.Errorf("asset %s: playback URL: %w", asset, err)
	}
	if !strings.HasSuffix(u.Path, ".m3u8") {
		return fmt.Errorf("asset %s plays %s: the simulator plays HLS (.m3u8) only", asset, path.Base(u.Path))
	}
	return nil
}

// onEdge moves a playback URL to the edge under test, whatever host the
// asset names.
func onEdge(edge *url.URL, playback string) (string, error) {
	u, err := url.Parse(playback)
	if err != nil {
		return "", err
	}
	u.Scheme, u.Host = edge.Scheme, edge.Host
	return u.String(), nil
}

// tokenError words a failed token request.
func tokenError(asset string, err error) error {
	var ae *client.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case "asset_not_found":
			return fmt.Errorf("asset %s does not exist (create it with an admin key, or give --asset)", asset)
		case "scope_missing", "api_key_missing", "api_key_invalid":
			return fmt.Errorf("token for asset %s: the API key may not issue tokens: %s", asset, ae.Message)
		}
	}
	return fmt.Errorf("token for asset %s: %w", asset, err)
}
