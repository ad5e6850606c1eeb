package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/smd-media/smd/middleware"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// A media server's handler behind the middleware: a request with a valid
// token reaches it with the token removed from the path; others are
// refused with the reason's status.
func Example() {
	keys := token.NewKeys(map[string]string{"k1": strings.Repeat("5c", 32)})
	media := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "serving %s", r.URL.Path) // e.g. http.FileServer(http.Dir("/srv/media"))
	})
	h, err := middleware.New(media, middleware.Options{Keys: keys, Routes: []middleware.Route{{Prefix: "/vod/"}}})
	if err != nil {
		panic(err)
	}
	defer h.Close()

	// The token a viewer got from smd's token API (or smd token sign).
	tok, _ := (&smde.Signer{Key: keys.Lookup("k1")}).Sign(&smde.Policy{Paths: []string{"/vod/title1/"}, Expiry: "+1h"}, &smde.Viewer{})

	for _, target := range []string{"/" + tok.Token + "/vod/title1/seg1.ts", "/vod/title1/seg1.ts", "/" + tok.Token + "/vod/title2/seg1.ts"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 serving /vod/title1/seg1.ts
	// 401 Unauthorized
	// 401 Unauthorized
}

// The handler learns which session it serves, e.g. to count streams per
// session or to log it; only a proven id identifies a viewer.
func ExampleSessionFrom() {
	keys := token.NewKeys(map[string]string{"k1": strings.Repeat("5c", 32)})
	h, _ := middleware.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := middleware.SessionFrom(r); ok && s.Proven {
			fmt.Println("session", s.ID, "key", s.KeyID, "path", s.OriginPath)
		}
	}), middleware.Options{Keys: keys})
	tok, _ := (&smde.Signer{Key: keys.Lookup("k1")}).Sign(&smde.Policy{Paths: []string{"/"}, Session: true, Expiry: "+1h"}, &smde.Viewer{SessionID: "Viewer42"})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/"+tok.Token+"/live/ch1/index.m3u8", nil))
	// Output:
	// session Viewer42 key k1 path /live/ch1/index.m3u8
}

// Revocations come from the caller: any set with a Revoked method, here a
// function over a map the application keeps up to date.
func ExampleRevokedFunc() {
	revoked := map[string]bool{"Shared7": true}
	keys := token.NewKeys(map[string]string{"k1": strings.Repeat("5c", 32)})
	h, _ := middleware.New(http.NotFoundHandler(), middleware.Options{
		Keys:    keys,
		Revoked: middleware.RevokedFunc(func(id string) bool { return revoked[id] }),
	})
	tok, _ := (&smde.Signer{Key: keys.Lookup("k1")}).Sign(&smde.Policy{Paths: []string{"/"}, Session: true, Expiry: "+1h"}, &smde.Viewer{SessionID: "Shared7"})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/"+tok.Token+"/vod/a.ts", nil))
	fmt.Println(w.Code)
	// Output:
	// 403
}
