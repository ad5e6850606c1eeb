package main

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/control/controltest"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

const assetM1 = `{"id":"m1","url_path":"/vod/m1/index.m3u8","endpoint_hostname":"cdn.example.com",
 "token_policy":{"ip":true,"paths":["/vod/m1/"],"exp":"+2h"}}`

func TestAssetsCommands(t *testing.T) {
	e := startAPI(t)
	file := writeFile(t, "m1.json", assetM1)
	out := mustSucceed(t, "", e.as(e.adminFile, "assets", "create", file)...)
	if !strings.HasPrefix(out, "created m1 (revision ") {
		t.Errorf("create: %s", out)
	}
	mustFail(t, "", "409 asset_exists", e.as(e.adminFile, "assets", "create", file)...)

	var a struct {
		ID       string `json:"id"`
		URLPath  string `json:"url_path"`
		Revision uint64 `json:"revision"`
	}
	if err := json.Unmarshal([]byte(mustSucceed(t, "", e.as(e.readerFile, "assets", "get", "m1")...)), &a); err != nil || a.ID != "m1" || a.Revision == 0 {
		t.Fatalf("get: %+v %v", a, err)
	}
	upd := strings.Replace(assetM1, "index.m3u8", "main.m3u8", 1)
	out = mustSucceed(t, upd, e.as(e.adminFile, "assets", "update", "-")...)
	if !strings.HasPrefix(out, "updated m1") {
		t.Errorf("update: %s", out)
	}
	out = mustSucceed(t, "", e.as(e.readerFile, "assets", "list")...)
	if !strings.Contains(out, "m1") || !strings.Contains(out, "/vod/m1/main.m3u8") || !strings.Contains(out, "+2h") {
		t.Errorf("list:\n%s", out)
	}

	// Validation errors name the field, locally or from the API.
	mustFail(t, strings.Replace(assetM1, `"/vod/m1/index.m3u8"`, `"vod"`, 1), "url_path", e.as(e.adminFile, "assets", "create", "-")...)
	mustFail(t, strings.Replace(assetM1, `"ip":true,`, `"ip":"yes",`, 1), "token_policy.ip", e.as(e.adminFile, "assets", "update", "-")...)
	mustFail(t, "", "404 asset_not_found", e.as(e.readerFile, "assets", "get", "nope")...)
	mustFail(t, "", "400 invalid_id", e.as(e.readerFile, "assets", "get", "a-b")...)

	items := `{"Items":[{"id":{"S":"t1"},"url_path":{"S":"/out/t1/index.m3u8"},"endpoint_hostname":{"S":"https://d1.cloudfront.net"},
	  "token_policy":{"M":{"paths":{"L":[{"S":"/out/t1/"}]},"exp":{"S":"+1h"}}}}]}`
	out = mustSucceed(t, items, e.as(e.adminFile, "assets", "import", "-")...)
	if out != "imported 1 assets: t1\n" {
		t.Errorf("import: %q", out)
	}
	mustFail(t, `{"Items":[{"id":{"S":"t2"}}]}`, "item 0: url_path: missing", e.as(e.adminFile, "assets", "import", "-")...)

	// The token API issues a URL for the asset that verifies for the caller.
	cl, err := client.New(e.URL, e.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cl.Token(t.Context(), "m1", url.Values{"x": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(tok.PlaybackURL)
	_, err = smde.NewVerifier(smde.Options{}).Verify(&token.Request{
		Method: "GET", Target: u.RequestURI(), IP: netip.MustParseAddr("127.0.0.1"), Now: time.Now(),
	}, token.NewKeys(map[string]string{controltest.KID: controltest.Secret}))
	if err != nil || !strings.HasSuffix(u.Path, "/vod/m1/main.m3u8") {
		t.Errorf("token %s: %v", tok.PlaybackURL, err)
	}

	out = mustSucceed(t, "", e.as(e.adminFile, "assets", "delete", "m1")...)
	if out != "deleted m1\n" {
		t.Errorf("delete: %q", out)
	}
	mustFail(t, "", "404 asset_not_found", e.as(e.adminFile, "assets", "delete", "m1")...)
}
