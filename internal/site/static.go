package site

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

// staticFile is an embedded file with its validator.
type staticFile struct {
	body  []byte
	etag  string
	ctype string
}

// loadStatic reads every embedded file once: their ETags are content
// hashes, so a browser revalidates with a 304 and never runs a stale
// script after an upgrade.
func loadStatic() (map[string]*staticFile, error) {
	files := map[string]*staticFile{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js", ".mjs":
			ct = "text/javascript; charset=utf-8"
		case ".txt", "":
			ct = "text/plain; charset=utf-8"
		case ".md":
			ct = "text/markdown; charset=utf-8"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		files["/"+p] = &staticFile{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: ct}
		return nil
	})
	return files, err
}

// serveFile answers GET and HEAD of one embedded file; LICENSE files are
// served as text.
func serveFile(w http.ResponseWriter, r *http.Request, f *staticFile) {
	h := w.Header()
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", "no-cache")
	ct := f.ctype
	if strings.HasSuffix(r.URL.Path, "/LICENSE") {
		ct = "text/plain; charset=utf-8"
	}
	h.Set("Content-Type", ct)
	if match := r.Header.Get("If-None-Match"); match != "" && match == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(f.body)
	}
}
