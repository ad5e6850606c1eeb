package control

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/smd-media/smd/internal/asset"
)

// assetError maps the store's errors to answers.
func assetError(id string, err error) error {
	var fe *asset.FieldError
	switch {
	case errors.As(err, &fe):
		if fe.Field == "after" || fe.Field == "limit" {
			return badRequest(codeInvalidField, fe.Field, "%v", fe)
		}
		return badRequest(codeInvalidAsset, fe.Field, "%v", fe)
	case errors.Is(err, asset.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: codeAssetNotFound, Message: fmt.Sprintf("no asset %q", id)}
	case errors.Is(err, asset.ErrExists):
		return &Error{Status: http.StatusConflict, Code: codeAssetExists, Message: fmt.Sprintf("asset %q exists; update it with PUT", id)}
	case errors.Is(err, asset.ErrConflict):
		return &Error{Status: http.StatusConflict, Code: codeConflict, Message: fmt.Sprintf("asset %q changed meanwhile; read it again", id)}
	}
	return internal(err)
}

// pathAssetID reads {id}; a bad one is a 400.
func pathAssetID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !asset.ValidID(id) {
		return "", badRequest(codeInvalidID, "id", "id: %q is not 1-200 letters, digits or '_'", id)
	}
	return id, nil
}

func (a *API) listAssets(w http.ResponseWriter, r *http.Request, _ *call) error {
	after, limit, err := a.page(r, asset.ValidID)
	if err != nil {
		return err
	}
	items, next, err := a.deps.Assets.List(r.Context(), after, limit)
	if err != nil {
		return assetError("", err)
	}
	writeJSON(w, http.StatusOK, list[*asset.Asset]{Items: items, Next: next})
	return nil
}

func (a *API) getAsset(w http.ResponseWriter, r *http.Request, _ *call) error {
	id, err := pathAssetID(r)
	if err != nil {
		return err
	}
	as, err := a.deps.Assets.Get(r.Context(), id)
	if err != nil {
		return assetError(id, err)
	}
	writeJSON(w, http.StatusOK, as)
	return nil
}

// readAsset reads and validates an asset from the body.
func (a *API) readAsset(r *http.Request) (*asset.Asset, error) {
	b, err := a.readBody(r)
	if err != nil {
		return nil, err
	}
	as, err := asset.Parse(b)
	if err != nil {
		return nil, assetError("", err)
	}
	return as, nil
}

func (a *API) createAsset(w http.ResponseWriter, r *http.Request, _ *call) error {
	as, err := a.readAsset(r)
	if err != nil {
		return err
	}
	c, err := a.deps.Assets.Create(r.Context(), as)
	if err != nil {
		return assetError(as.ID, err)
	}
	w.Header().Set("Location", "/v1/assets/"+c.ID)
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (a *API) updateAsset(w http.ResponseWriter, r *http.Request, _ *call) error {
	id, err := pathAssetID(r)
	if err != nil {
		return err
	}
	as, err := a.readAsset(r)
	if err != nil {
		return err
	}
	if as.ID != id {
		return badRequest(codeInvalidAsset, "id", "id: %q in the body differs from %q in the path", as.ID, id)
	}
	u, err := a.deps.Assets.Update(r.Context(), as)
	if err != nil {
		return assetError(id, err)
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (a *API) deleteAsset(w http.ResponseWriter, r *http.Request, _ *call) error {
	id, err := pathAssetID(r)
	if err != nil {
		return err
	}
	if err := a.deps.Assets.Delete(r.Context(), id); err != nil {
		return assetError(id, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// importResult is the answer of POST /v1/assets/import.
type importResult struct {
	Imported int      `json:"imported"`
	IDs      []string `json:"ids"`
}

// importAssets reads SMDE's DynamoDB items and creates or replaces the
// assets. Every item is validated before any is written.
func (a *API) importAssets(w http.ResponseWriter, r *http.Request, _ *call) error {
	b, err := a.readBody(r)
	if err != nil {
		return err
	}
	items, err := asset.ParseDynamoDB(b)
	if err != nil {
		field := ""
		var fe *asset.FieldError
		if errors.As(err, &fe) {
			field = fe.Field
		}
		return badRequest(codeInvalidImport, field, "%v", err)
	}
	out := importResult{IDs: make([]string, 0, len(items))}
	for _, as := range items {
		if _, err := a.deps.Assets.Put(r.Context(), as); err != nil {
			e := assetError(as.ID, err)
			if ae, ok := e.(*Error); ok && ae.Status >= 500 {
				ae.Message = fmt.Sprintf("import stopped at asset %q after %d were written; it can be run again", as.ID, out.Imported)
			}
			return e
		}
		out.Imported++
		out.IDs = append(out.IDs, as.ID)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
