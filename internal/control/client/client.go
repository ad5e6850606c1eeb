// Package client is a small Go client of smd's control-plane API, used by
// the operator CLI (smd keys, smd sessions, smd assets).
//
// The contract: every method sends one request with the API key as a
// bearer token and returns the decoded answer, or an [*Error] carrying the
// API's status, reason code and message. Errors never contain the API key.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/smd-media/smd/internal/asset"
	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/fleet"
)

// maxAnswer bounds the answers read.
const maxAnswer = 64 << 20

// Client calls the API at one base URL with one API key.
type Client struct {
	base *url.URL
	key  string
	// HTTP sends the requests; a client with a 30s timeout by default.
	HTTP *http.Client
}

// New returns a client of the API at baseURL ("http(s)://host[:port]",
// the API's paths are appended) authenticating with apiKey
// ("smd_<id>_<secret>"; "" sends none).
func New(baseURL, apiKey string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("API URL %q: want http(s)://host[:port]", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if strings.ContainsAny(apiKey, "\r\n ") {
		return nil, errors.New("API key: must be one line without spaces")
	}
	return &Client{base: u, key: apiKey, HTTP: &http.Client{Timeout: 30 * time.Second}}, nil
}

// Error is an error answer of the API.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is the API's reason code, e.g. asset_not_found.
	Code string
	// Message says what went wrong.
	Message string
	// Field names the bad input, if any.
	Field string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// do sends a request and decodes a 2xx answer into out (nil: discard).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = q.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		var eb struct {
			Error, Message, Field string
		}
		if json.Unmarshal(b, &eb) == nil && eb.Error != "" {
			e.Code, e.Message, e.Field = eb.Error, eb.Message, eb.Field
		} else {
			e.Code, e.Message = "http_"+strconv.Itoa(resp.StatusCode), http.StatusText(resp.StatusCode)+" (not an smd API answer)"
		}
		return e
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: answer: %w", method, path, err)
	}
	return nil
}

// page is a list answer.
type page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

func pageQuery(after string, limit int) url.Values {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// ListKeys returns the signing keys; with secrets (admin only) their
// secrets too.
func (c *Client) ListKeys(ctx context.Context, secrets bool) ([]control.KeyInfo, error) {
	q := url.Values{}
	if secrets {
		q.Set("secrets", "true")
	}
	var p page[control.KeyInfo]
	err := c.do(ctx, "GET", "/v1/keys", q, nil, &p)
	return p.Items, err
}

// RotateKeys asks for a key rotation now.
func (c *Client) RotateKeys(ctx context.Context) (control.RotationStatus, error) {
	var st control.RotationStatus
	err := c.do(ctx, "POST", "/v1/keys/rotate", nil, nil, &st)
	return st, err
}

// ImportKeys replaces the key ring with an SMDE Secrets Manager export or
// a key map.
func (c *Client) ImportKeys(ctx context.Context, export []byte) ([]control.KeyInfo, error) {
	var p page[control.KeyInfo]
	err := c.do(ctx, "POST", "/v1/keys/import", nil, export, &p)
	return p.Items, err
}

// RevokeResult is a revocation with its bucket revision.
type RevokeResult struct {
	control.Revocation
	Revision uint64 `json:"revision"`
}

// Revoke revokes a session; ttl 0 means until unrevoked.
func (c *Client) Revoke(ctx context.Context, id, reason string, ttl time.Duration) (RevokeResult, error) {
	body := map[string]any{}
	if reason != "" {
		body["reason"] = reason
	}
	if ttl > 0 {
		body["ttl"] = int64((ttl + time.Second - 1) / time.Second)
	}
	b, _ := json.Marshal(body)
	var r RevokeResult
	err := c.do(ctx, "POST", "/v1/sessions/"+url.PathEscape(id)+"/revoke", nil, b, &r)
	return r, err
}

// Unrevoke lifts a revocation.
func (c *Client) Unrevoke(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/sessions/"+url.PathEscape(id)+"/revoke", nil, nil, nil)
}

// Revocation returns a session's revocation.
func (c *Client) Revocation(ctx context.Context, id string) (control.Revocation, error) {
	var r control.Revocation
	err := c.do(ctx, "GET", "/v1/sessions/"+url.PathEscape(id)+"/revoke", nil, nil, &r)
	return r, err
}

// SessionDetector returns what the detector thinks of session id: its
// live features and scores, and its stored decisions.
func (c *Client) SessionDetector(ctx context.Context, id string) (control.SessionDetector, error) {
	var r control.SessionDetector
	err := c.do(ctx, "GET", "/v1/sessions/"+url.PathEscape(id)+"/detector", nil, nil, &r)
	return r, err
}

// ListRevoked returns a page of revoked sessions and the next cursor.
func (c *Client) ListRevoked(ctx context.Context, after string, limit int) ([]control.Revocation, string, error) {
	var p page[control.Revocation]
	err := c.do(ctx, "GET", "/v1/sessions/revoked", pageQuery(after, limit), nil, &p)
	return p.Items, p.Next, err
}

// AllowResult is an allowance with its bucket revision.
type AllowResult struct {
	control.Allowance
	Revision uint64 `json:"revision"`
}

// Allow allowlists a session (the detector never revokes it); ttl 0 means
// until removed.
func (c *Client) Allow(ctx context.Context, id, reason string, ttl time.Duration) (AllowResult, error) {
	body := map[string]any{}
	if reason != "" {
		body["reason"] = reason
	}
	if ttl > 0 {
		body["ttl"] = int64((ttl + time.Second - 1) / time.Second)
	}
	b, _ := json.Marshal(body)
	var r AllowResult
	err := c.do(ctx, "PUT", "/v1/sessions/"+url.PathEscape(id)+"/allow", nil, b, &r)
	return r, err
}

// Disallow removes a session's allowance (an allowlisting or a hold-off).
func (c *Client) Disallow(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/sessions/"+url.PathEscape(id)+"/allow", nil, nil, nil)
}

// Allowance returns a session's allowance.
func (c *Client) Allowance(ctx context.Context, id string) (control.Allowance, error) {
	var a control.Allowance
	err := c.do(ctx, "GET", "/v1/sessions/"+url.PathEscape(id)+"/allow", nil, nil, &a)
	return a, err
}

// ListAllowed returns a page of allowances and the next cursor.
func (c *Client) ListAllowed(ctx context.Context, after string, limit int) ([]control.Allowance, string, error) {
	var p page[control.Allowance]
	err := c.do(ctx, "GET", "/v1/sessions/allowed", pageQuery(after, limit), nil, &p)
	return p.Items, p.Next, err
}

// Asset returns an asset.
func (c *Client) Asset(ctx context.Context, id string) (*asset.Asset, error) {
	var a asset.Asset
	if err := c.do(ctx, "GET", "/v1/assets/"+url.PathEscape(id), nil, nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// CreateAsset creates an asset from its JSON.
func (c *Client) CreateAsset(ctx context.Context, js []byte) (*asset.Asset, error) {
	var a asset.Asset
	if err := c.do(ctx, "POST", "/v1/assets", nil, js, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// UpdateAsset replaces the asset id with its JSON.
func (c *Client) UpdateAsset(ctx context.Context, id string, js []byte) (*asset.Asset, error) {
	var a asset.Asset
	if err := c.do(ctx, "PUT", "/v1/assets/"+url.PathEscape(id), nil, js, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// DeleteAsset deletes an asset.
func (c *Client) DeleteAsset(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/v1/assets/"+url.PathEscape(id), nil, nil, nil)
}

// ListAssets returns a page of assets and the next cursor.
func (c *Client) ListAssets(ctx context.Context, after string, limit int) ([]*asset.Asset, string, error) {
	var p page[*asset.Asset]
	err := c.do(ctx, "GET", "/v1/assets", pageQuery(after, limit), nil, &p)
	return p.Items, p.Next, err
}

// ImportAssets imports SMDE DynamoDB items and returns the ids written.
func (c *Client) ImportAssets(ctx context.Context, items []byte) ([]string, error) {
	var r struct {
		IDs []string `json:"ids"`
	}
	err := c.do(ctx, "POST", "/v1/assets/import", nil, items, &r)
	return r.IDs, err
}

// Edges returns the live edges.
func (c *Client) Edges(ctx context.Context) ([]fleet.Heartbeat, error) {
	var p page[fleet.Heartbeat]
	err := c.do(ctx, "GET", "/v1/edges", nil, nil, &p)
	return p.Items, err
}

// Token is the answer of GET /v1/token.
type Token struct {
	PlaybackURL string `json:"playback_url"`
	TokenPolicy struct {
		IP           bool   `json:"ip"`
		IPValue      string `json:"ip_value"`
		UA           bool   `json:"ua"`
		UAValue      string `json:"ua_value"`
		Referer      bool   `json:"referer"`
		RefererValue string `json:"referer_value"`
	} `json:"token_policy"`
	SessionID string    `json:"session_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Token asks for a playback URL of the asset id; query holds the
// caller's other query values.
func (c *Client) Token(ctx context.Context, id string, query url.Values) (Token, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("id", id)
	var t Token
	err := c.do(ctx, "GET", "/v1/token", q, nil, &t)
	return t, err
}
