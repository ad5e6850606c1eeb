package control

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/control/apikey"
	"github.com/smd-media/smd/internal/fleet"
	"github.com/smd-media/smd/internal/keyring"
)

// listKeys answers GET /v1/keys[?secrets=true]; secrets need admin.
func (a *API) listKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	secrets := false
	switch s := r.URL.Query().Get("secrets"); s {
	case "", "false", "0":
	case "true", "1":
		secrets = true
	default:
		return badRequest(codeInvalidField, "secrets", "secrets: %q is not true or false", s)
	}
	if secrets && (c.key == nil || !c.key.Has(apikey.ScopeAdmin)) {
		return forbidden(apikey.ScopeAdmin)
	}
	keys, err := a.deps.Keys.List(r.Context(), secrets)
	if err != nil {
		return unavailable("the key ring", err)
	}
	if !secrets {
		for i := range keys {
			keys[i].Secret = "" // whatever the implementation did
		}
	}
	if keys == nil {
		keys = []KeyInfo{}
	}
	writeJSON(w, http.StatusOK, list[KeyInfo]{Items: keys})
	return nil
}

func (a *API) rotateKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	st, err := a.deps.Keys.Rotate(r.Context())
	if err != nil {
		return unavailable("the key ring", err)
	}
	a.log.Info("control: key rotation requested", "by", c.by(), "phase", st.Phase, "next_kid", st.NextKID)
	writeJSON(w, http.StatusAccepted, st)
	return nil
}

func (a *API) importKeys(w http.ResponseWriter, r *http.Request, c *call) error {
	b, err := a.readBody(r)
	if err != nil {
		return err
	}
	// Check the file first: keyring's errors name the problem, never a
	// secret.
	if _, err := keyring.Parse(b); err != nil {
		return badRequest(codeInvalidImport, "", "%v", err)
	}
	keys, err := a.deps.Keys.Import(r.Context(), b)
	if errors.Is(err, ErrInvalidInput) {
		return badRequest(codeInvalidImport, "", "%v", err)
	}
	if err != nil {
		return unavailable("the key ring", err)
	}
	for i := range keys {
		keys[i].Secret = ""
	}
	if keys == nil {
		keys = []KeyInfo{}
	}
	a.log.Info("control: keys imported", "by", c.by(), "keys", len(keys))
	writeJSON(w, http.StatusOK, list[KeyInfo]{Items: keys})
	return nil
}

// listEdges answers GET /v1/edges: the live edges' heartbeats, by id.
func (a *API) listEdges(w http.ResponseWriter, r *http.Request, _ *call) error {
	if a.deps.Edges == nil {
		return unavailable("the edge list", errors.New("no edges bucket"))
	}
	hb, err := fleet.Live(r.Context(), a.deps.Edges)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return unavailable("the edge list", err)
	}
	if hb == nil {
		hb = []fleet.Heartbeat{}
	}
	slices.SortFunc(hb, func(x, y fleet.Heartbeat) int { return strings.Compare(x.EdgeID, y.EdgeID) })
	for i := range hb {
		if hb[i].KeyIDs == nil {
			hb[i].KeyIDs = []string{}
		}
	}
	writeJSON(w, http.StatusOK, list[fleet.Heartbeat]{Items: hb})
	return nil
}
