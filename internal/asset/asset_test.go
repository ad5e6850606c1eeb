package asset

import (
	"errors"
	"strings"
	"testing"
)

const goodJSON = `{"id":"m1","url_path":"/vod/m1/index.m3u8","endpoint_hostname":"cdn.example.com",
 "token_policy":{"ip":true,"headers":["user-agent"],"paths":["/vod/m1/"],"exp":"+2h"}}`

func TestParse(t *testing.T) {
	a, err := Parse([]byte(goodJSON))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "m1" || a.URLPath != "/vod/m1/index.m3u8" || a.EndpointHostname != "cdn.example.com" ||
		!a.TokenPolicy.IP || a.TokenPolicy.Expiry != "+2h" || a.TokenPolicy.Paths[0] != "/vod/m1/" {
		t.Errorf("parsed %+v", a)
	}
	if got := a.PlaybackURL("https"); got != "https://cdn.example.com/vod/m1/index.m3u8" {
		t.Errorf("PlaybackURL = %q", got)
	}
	a.EndpointHostname = "http://localhost:8080"
	if got := a.PlaybackURL("https"); got != "http://localhost:8080/vod/m1/index.m3u8" {
		t.Errorf("PlaybackURL with scheme = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	policy := `"token_policy":{"paths":["/vod/"],"exp":"+1h"}`
	obj := func(fields string) string { return "{" + fields + "}" }
	base := `"id":"m1","url_path":"/vod/m1/i.m3u8","endpoint_hostname":"cdn.example.com"`
	tests := []struct {
		name, in, field string
	}{
		{"not JSON", `nope`, "asset"},
		{"array", `[]`, "asset"},
		{"trailing data", obj(base+","+policy) + "{}", "asset"},
		{"unknown field", obj(base + `,"title":"x",` + policy), "title"},
		{"id missing", obj(`"url_path":"/vod/a","endpoint_hostname":"h",` + policy), "id"},
		{"id not a string", obj(`"id":7,"url_path":"/vod/a","endpoint_hostname":"h",` + policy), "id"},
		{"id with a slash", obj(`"id":"a/b","url_path":"/vod/a","endpoint_hostname":"h",` + policy), "id"},
		{"id too long", obj(`"id":"` + strings.Repeat("a", 201) + `","url_path":"/vod/a","endpoint_hostname":"h",` + policy), "id"},
		{"url_path missing", obj(`"id":"a","endpoint_hostname":"h",` + policy), "url_path"},
		{"url_path relative", obj(`"id":"a","url_path":"vod/a","endpoint_hostname":"h",` + policy), "url_path"},
		{"url_path with space", obj(`"id":"a","url_path":"/vod/a b","endpoint_hostname":"h",` + policy), "url_path"},
		{"url_path with fragment", obj(`"id":"a","url_path":"/vod/a#x","endpoint_hostname":"h",` + policy), "url_path"},
		{"url_path scheme-relative", obj(`"id":"a","url_path":"//evil/vod/a","endpoint_hostname":"h",` + policy), "url_path"},
		{"hostname empty", obj(`"id":"a","url_path":"/vod/a","endpoint_hostname":"",` + policy), "endpoint_hostname"},
		{"hostname with path", obj(`"id":"a","url_path":"/vod/a","endpoint_hostname":"h/x",` + policy), "endpoint_hostname"},
		{"hostname ftp", obj(`"id":"a","url_path":"/vod/a","endpoint_hostname":"ftp://h",` + policy), "endpoint_hostname"},
		{"hostname with user", obj(`"id":"a","url_path":"/vod/a","endpoint_hostname":"https://u@h",` + policy), "endpoint_hostname"},
		{"policy missing", obj(base), "token_policy"},
		{"policy unknown field", obj(base + `,"token_policy":{"paths":["/vod/"],"exp":"+1h","bogus":1}`), "token_policy.bogus"},
		{"policy without paths", obj(base + `,"token_policy":{"exp":"+1h"}`), "token_policy.paths"},
		{"policy bad exp", obj(base + `,"token_policy":{"paths":["/vod/"],"exp":"soon"}`), "token_policy.exp"},
		{"policy bad header", obj(base + `,"token_policy":{"paths":["/vod/"],"exp":"+1h","headers":["a b"]}`), "token_policy.headers"},
		{"policy not covering url_path", obj(base + `,"token_policy":{"paths":["/live/"],"exp":"+1h"}`), "token_policy.paths"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError", err)
			}
			if fe.Field != tc.field {
				t.Errorf("field %q (%v), want %q", fe.Field, err, tc.field)
			}
		})
	}
}

func TestParseDynamoDB(t *testing.T) {
	item := func(id string) string {
		return `{"id":{"S":"` + id + `"},"url_path":{"S":"/out/v1/` + id + `/index.m3u8"},
		"endpoint_hostname":{"S":"https://d111.cloudfront.net"},"title":{"S":"ignored"},
		"token_policy":{"M":{"ip":{"BOOL":true},"co":{"BOOL":false},"co_fallback":{"BOOL":true},
		"headers":{"L":[{"S":"user-agent"},{"S":"referer"}]},"querystrings":{"L":[]},
		"paths":{"L":[{"S":"/out/v1/` + id + `/"}]},"exc":{"SS":["/ads/"]},
		"session_auto_generate":{"N":"16"},"ssn":{"BOOL":true},"exp":{"S":"+2h"},"nbf":{"NULL":true}}}}`
	}
	tests := []struct {
		name string
		in   string
		ids  []string
	}{
		{"one item", item("a1"), []string{"a1"}},
		{"array", "[" + item("a1") + "," + item("a2") + "]", []string{"a1", "a2"}},
		{"scan output", `{"Items":[` + item("a1") + "," + item("a2") + `],"Count":2,"ScannedCount":2}`, []string{"a1", "a2"}},
		{"get-item output", `{"Item":` + item("a3") + `}`, []string{"a3"}},
		{"export lines", `{"Item":` + item("a1") + "}\n" + `{"Item":` + item("a2") + "}\n", []string{"a1", "a2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDynamoDB([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.ids) {
				t.Fatalf("%d assets, want %d", len(got), len(tc.ids))
			}
			for i, a := range got {
				p := a.TokenPolicy
				if a.ID != tc.ids[i] || !p.IP || !p.Session || p.SessionAutoGenerate != "16" ||
					len(p.Headers) != 2 || p.Headers[1] != "referer" || p.Exclusions[0] != "/ads/" ||
					a.EndpointHostname != "https://d111.cloudfront.net" || p.NotBefore != "" {
					t.Errorf("asset %d: %+v", i, a)
				}
			}
		})
	}
}

func TestParseDynamoDBErrors(t *testing.T) {
	ok := `{"id":{"S":"a1"},"url_path":{"S":"/v/a"},"endpoint_hostname":{"S":"h"},"token_policy":{"M":{"paths":{"L":[{"S":"/v/"}]},"exp":{"S":"+1h"}}}}`
	tests := []struct {
		name, in, want string
	}{
		{"empty", ``, "no items"},
		{"not JSON", `{`, "import:"},
		{"scalar", `7`, "want an item"},
		{"plain JSON, not typed", `{"id":"a1","url_path":"/v/a","endpoint_hostname":"h","token_policy":{}}`, "item 0: id: want one DynamoDB attribute value"},
		{"missing url_path", `{"id":{"S":"a1"},"endpoint_hostname":{"S":"h"},"token_policy":{"M":{}}}`, "item 0: url_path: missing"},
		{"binary", `{"id":{"B":"AAAA"},"url_path":{"S":"/v/a"},"endpoint_hostname":{"S":"h"},"token_policy":{"M":{}}}`, `item 0: id: DynamoDB type "B"`},
		{"bad number", strings.Replace(ok, `"exp":{"S":"+1h"}`, `"exp":{"N":"abc"}`, 1), "item 0: token_policy.exp: N: want a number"},
		{"two types", strings.Replace(ok, `{"S":"a1"}`, `{"S":"a1","N":"1"}`, 1), "item 0: id: want one DynamoDB attribute value"},
		{"policy field unknown", strings.Replace(ok, `"exp":`, `"bogus":{"S":"x"},"exp":`, 1), "item 0: token_policy"},
		{"policy invalid", strings.Replace(ok, `"+1h"`, `"later"`, 1), "item 0: token_policy.exp"},
		{"second item bad", "[" + ok + "," + strings.Replace(ok, `"a1"`, `"a/2"`, 1) + "]", "item 1: id:"},
		{"duplicate ids", "[" + ok + "," + ok + "]", `item 1: id: "a1" repeats item 0`},
		{"Items not an array", `{"Items":{}}`, "Items: want an array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDynamoDB([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParseDynamoDB(f *testing.F) {
	f.Add([]byte(`{"id":{"S":"a1"},"url_path":{"S":"/v/a"},"endpoint_hostname":{"S":"h"},"token_policy":{"M":{"paths":{"L":[{"S":"/v/"}]},"exp":{"S":"+1h"}}}}`))
	f.Add([]byte(`{"Items":[{"id":{"N":"1"}}]}`))
	f.Add([]byte(`[{"token_policy":{"M":{"x":{"L":[{"NS":["1","2e3"]}]}}}}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		as, err := ParseDynamoDB(b)
		if err != nil {
			return
		}
		for _, a := range as {
			if err := a.Validate(); err != nil {
				t.Fatalf("ParseDynamoDB returned an invalid asset: %v", err)
			}
		}
	})
}

func TestParsePolicyTypeError(t *testing.T) {
	_, err := Parse([]byte(`{"id":"a","url_path":"/v/a","endpoint_hostname":"h","token_policy":{"ip":"yes","paths":["/v/"],"exp":"+1h"}}`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "token_policy.ip" {
		t.Fatalf("err = %v, want field token_policy.ip", err)
	}
}
