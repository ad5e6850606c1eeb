package strictjson

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

type inner struct {
	Paths []string `json:"paths"`
	N     int      `json:"n"`
}

type target struct {
	ID     string  `json:"id"`
	Reason string  `json:"reason"`
	TTL    *int64  `json:"ttl"`
	Policy *inner  `json:"policy"`
	Ratio  float64 `json:"ratio"`
	On     bool    `json:"on"`
}

func TestDecode(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	tests := []struct {
		name, body string
		field      string // "" with problem "": accepted
		problem    string
	}{
		{"ok", `{"id":"m1","ttl":60,"policy":{"paths":["/a"],"n":2}}`, "", ""},
		{"ok with white space", " \n{ \"id\" : \"m1\" }\n\t", "", ""},
		{"empty", "", "", "the body is empty"},
		{"white space only", " \n ", "", "the body is empty"},
		{"duplicate key", `{"id":"m1","reason":"x","id":"m2"}`, "id", "given twice"},
		{"duplicate key nested", `{"policy":{"n":1,"n":2}}`, "policy.n", "given twice"},
		{"duplicate key in array element", `{"policy":{"paths":["a"]},"x":[{"k":1},{"k":1,"k":2}]}`, "x[1].k", "given twice"},
		{"same key in sibling objects", `{"policy":{"n":1},"id":"a"}`, "", ""},
		{"trailing garbage", `{"id":"m1"}x`, "", "data after the JSON object"},
		{"two objects", `{"id":"m1"}{"id":"m2"}`, "", "data after the JSON object"},
		{"array body", `[{"id":"m1"}]`, "", "the body must be a JSON object"},
		{"string body", `"m1"`, "", "the body must be a JSON object"},
		{"truncated", `{"id":"m1"`, "", "ends in the middle of a value"},
		{"bad syntax", `{"id":m1}`, "", "not valid JSON at byte"},
		{"invalid UTF-8", "{\"id\":\"\xff\"}", "", "not valid UTF-8"},
		{"unknown member", `{"id":"m1","admin":true}`, "admin", "unknown field"},
		{"wrong type", `{"id":["m1"]}`, "id", "want a JSON string"},
		{"wrong nested type", `{"policy":{"n":"2"}}`, "policy.n", "want a whole number"},
		{"number out of range", `{"ttl":1e40}`, "ttl", "want a whole number"},
		{"too deep", deep, "", "nested deeper than"},
		{"names differing in case", `{"reason":"a","Reason":"b"}`, "Reason", "given twice"},
		{"name in the wrong case", `{"Reason":"a"}`, "Reason", "unknown field"},
		{"nested name in the wrong case", `{"policy":{"Paths":["/a"]}}`, "policy.Paths", "unknown field"},
		{"lone surrogate", `{"reason":"\ud800"}`, "", "lone UTF-16 surrogate"},
		{"lone low surrogate", `{"reason":"a\udc00"}`, "", "lone UTF-16 surrogate"},
		{"surrogate pair", `{"reason":"\ud83d\ude00"}`, "", ""},
		{"escaped backslash then u", `{"reason":"\\ud800"}`, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v target
			err := Decode([]byte(tc.body), &v)
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %v, want an *Error", err)
			}
			if e.Field != tc.field {
				t.Errorf("field %q, want %q", e.Field, tc.field)
			}
			if !strings.Contains(e.Problem, tc.problem) {
				t.Errorf("problem %q, want %q in it", e.Problem, tc.problem)
			}
			for _, internal := range []string{"Go value", "strictjson.", "unexpected EOF", "reflect", "int64"} {
				if strings.Contains(e.Error(), internal) {
					t.Errorf("the error %q speaks of %q", e.Error(), internal)
				}
			}
		})
	}
}

func TestTextProblem(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want string
	}{
		{"shared on a forum", 100, ""},
		{"café, 東京", 100, ""},
		{"tab\there", 100, "U+0009"},
		{"nul\x00", 100, "U+0000"},
		{"esc\x1b[2J", 100, "U+001B"},
		{"del\x7f", 100, "U+007F"},
		{"c1\u0085", 100, "U+0085"},
		{"bidi \u202e", 100, "U+202E"},
		{"\xff", 100, "not valid UTF-8"},
		{strings.Repeat("a", 11), 10, "longer than 10 bytes"},
	}
	for _, tc := range tests {
		got := TextProblem(tc.s, tc.max)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("TextProblem(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"id":"m1","ttl":60,"policy":{"paths":["/a"],"n":2}}`, `{"id":"a","id":"b"}`, `{}`, `[]`, `{"a":[{"b":{}}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v target
		err := Decode(b, &v)
		if err == nil {
			// What Decode accepts, encoding/json reads the same way and
			// sees no duplicate: decoding into a map must agree on the
			// member count.
			var m map[string]any
			if jerr := json.Unmarshal(b, &m); jerr != nil {
				t.Fatalf("accepted, but encoding/json says %v", jerr)
			}
		} else {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error of type %T: %v", err, err)
			}
		}
	})
}
