package keyring

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every secret in these tests contains "SECRET" and no key id does, so a
// message that shows a secret is caught.
const (
	secretA = "SECRET-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	secretB = "SECRET-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	// secret32 is exactly MinSecretLen bytes.
	secret32 = "SECRET-3456789012345678901234567"
	// secret31 is one byte short.
	secret31 = "SECRET-345678901234567890123456"
)

func TestParseErrors(t *testing.T) {
	longKID := strings.Repeat("f", 128)
	tests := []struct {
		name, in, want string
	}{
		// Not a key file at all.
		{"empty file", ``, "empty file"},
		{"blank file", " \n\t\n", "empty file"},
		{"not JSON", `primary=SECRET`, "not valid JSON: syntax error at line 1, column 1"},
		{"syntax error position", "{\n  \"k1\": \"" + secretA + "\",\n  \"k2\" \"" + secretB + "\"\n}", "syntax error at line 3"},
		{"truncated", `{"k1": "` + secretA + `"`, "not valid JSON: unexpected end of file"},
		{"trailing data", `{"k1": "` + secretA + `"} {}`, "unexpected data after the JSON object"},
		{"trailing garbage", `{"k1": "` + secretA + `"} SECRET`, "unexpected data after the JSON object"},
		{"byte order mark", "\xef\xbb\xbf{\"k1\": \"" + secretA + "\"}", "byte order mark"},
		{"invalid UTF-8", "{\"k1\": \"" + secretA + "\xff\"}", "not valid UTF-8"},
		{"top level array", `["` + secretA + `"]`, "top level is an array, want a JSON object"},
		{"top level string", `"` + secretA + `"`, "top level is a string, want a JSON object"},
		{"top level null", `null`, "top level is null"},
		{"no keys", `{}`, "no keys in the file"},

		// Map form.
		{"duplicate kid", `{"k1": "` + secretA + `", "k1": "` + secretB + `"}`, `duplicate kid "k1"`},
		{"duplicate kid same secret", `{"k1": "` + secretA + `", "k2": "` + secretB + `", "k1": "` + secretA + `"}`, `duplicate kid "k1"`},
		{"duplicate kid by escape", `{"k1": "` + secretA + `", "k\u0031": "` + secretB + `"}`, `duplicate kid "k1"`},
		{"empty kid", `{"": "` + secretA + `"}`, "kid is empty"},
		{"kid with space", `{"k 1": "` + secretA + `"}`, `kid "k 1": byte 2 (0x20) is not allowed`},
		{"kid with quote", `{"k\"1": "` + secretA + `"}`, `byte 2 ('"') is not allowed`},
		{"kid with backslash", `{"k\\1": "` + secretA + `"}`, `byte 2 ('\\') is not allowed`},
		{"kid with control", `{"k\u00011": "` + secretA + `"}`, `byte 2 (0x01) is not allowed`},
		{"kid with DEL", "{\"k\x7f1\": \"" + secretA + "\"}", `byte 2 (0x7F) is not allowed`},
		{"kid not ASCII", `{"clé": "` + secretA + `"}`, `kid "cl\u00e9": byte 3 (0xC3) is not allowed`},
		{"empty secret", `{"k1": ""}`, `kid "k1": secret is empty`},
		{"short secret", `{"k1": "` + secret31 + `"}`, `kid "k1": secret is 31 bytes long, at least 32 are needed`},
		{"short secret among others", `{"k1": "` + secretA + `", "k2": "SECRET"}`, `kid "k2": secret is 6 bytes long`},
		{"number value", `{"k1": 12345678901234567890123456789012}`, `"k1": value is a number, want a string secret`},
		{"boolean value", `{"k1": true}`, `"k1": value is a boolean, want a string secret`},
		{"null value", `{"k1": null}`, `"k1": value is null, want a string secret`},
		{"array value", `{"k1": ["` + secretA + `"]}`, `"k1": value is an array, want a string secret`},
		{"object value", `{"k1": {"value": "` + secretA + `"}}`, `"k1": value is an object; a map wants a string secret`},
		{"secret in place of kid", `{"` + longKID + `": "20269276_70676e43e91ae1bfce5b_x"}`, "(an id of 128 bytes, not shown): secret is 31 bytes"},
		{"secret in place of bad kid", `{"` + longKID + ` ": "` + secretA + `"}`, "(an id of 129 bytes, not shown): byte 129"},

		// SMDE form.
		{"smde without primary", `{"secondary": {"uuid": "k2", "value": "` + secretB + `"}}`, `SMDE form without a "primary" entry`},
		{"smde unknown entry", `{"primary": {"uuid": "k1", "value": "` + secretA + `"}, "temporary": {"uuid": "k3", "value": "` + secretB + `"}}`,
			`unknown entry "temporary": the SMDE form has only "primary" and "secondary"`},
		{"smde unknown entry first", `{"temporary": {"uuid": "k3", "value": "` + secretB + `"}, "primary": {"uuid": "k1", "value": "` + secretA + `"}}`,
			`"temporary": value is an object`},
		{"smde unknown field", `{"primary": {"uuid": "k1", "value": "` + secretA + `", "created": "2025-01-01"}}`, `primary: unknown field "created", want only "uuid" and "value"`},
		{"smde unknown field named like a secret", `{"primary": {"uuid": "k1", "` + secretA + secretB + `": "x"}}`, "primary: unknown field (an id of"},
		{"smde missing uuid", `{"primary": {"value": "` + secretA + `"}}`, `primary: missing field "uuid"`},
		{"smde missing value", `{"primary": {"uuid": "k1"}}`, `primary: missing field "value"`},
		{"smde empty entry", `{"primary": {}}`, `primary: missing field "uuid"`},
		{"smde uuid not a string", `{"primary": {"uuid": 7, "value": "` + secretA + `"}}`, "primary: uuid is a number, want a string"},
		{"smde value not a string", `{"primary": {"uuid": "k1", "value": null}}`, "primary: value is null, want a string"},
		{"smde value an object", `{"primary": {"uuid": "k1", "value": {"x": "` + secretA + `"}}}`, "primary: value is an object, want a string"},
		{"smde duplicate field", `{"primary": {"uuid": "k1", "value": "` + secretA + `", "value": "` + secretB + `"}}`, `primary: duplicate field "value"`},
		{"smde duplicate entry", `{"primary": {"uuid": "k1", "value": "` + secretA + `"}, "primary": {"uuid": "k2", "value": "` + secretB + `"}}`, `duplicate entry "primary"`},
		{"smde duplicate kid", `{"primary": {"uuid": "k1", "value": "` + secretA + `"}, "secondary": {"uuid": "k1", "value": "` + secretB + `"}}`, `secondary: duplicate kid "k1"`},
		{"smde empty uuid", `{"primary": {"uuid": "", "value": "` + secretA + `"}}`, "primary: kid is empty"},
		{"smde bad uuid", `{"primary": {"uuid": "k/1\t", "value": "` + secretA + `"}}`, `primary: kid "k/1\t": byte 4`},
		{"smde empty value", `{"primary": {"uuid": "k1", "value": ""}}`, `primary: kid "k1": secret is empty`},
		{"smde short value", `{"primary": {"uuid": "k1", "value": "` + secret31 + `"}}`, `primary: kid "k1": secret is 31 bytes long, at least 32 are needed`},
		{"smde primary not an object", `{"primary": 1}`, `primary: value is a number, want an object with "uuid" and "value"`},
		{"smde secondary an array", `{"primary": {"uuid": "k1", "value": "` + secretA + `"}, "secondary": []}`, `secondary: value is an array, want an object`},
		{"smde secondary null", `{"primary": {"uuid": "k1", "value": "` + secretA + `"}, "secondary": null}`, `secondary: value is null, want an object`},

		// Both forms in one file.
		{"mixed map then smde", `{"k1": "` + secretA + `", "primary": {"uuid": "k2", "value": "` + secretB + `"}}`, `mixed formats: "primary" is an SMDE entry but the file is a map`},
		{"mixed smde then map", `{"primary": {"uuid": "k1", "value": "` + secretA + `"}, "k2": "` + secretB + `"}`, `mixed formats: "k2" has a string value but the file is in the SMDE form`},
		{"mixed smde then primary-named string", `{"secondary": {"uuid": "k1", "value": "` + secretA + `"}, "primary": "` + secretB + `"}`, "mixed formats"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("accepted, %d keys", r.Len())
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q\n does not contain %q", msg, tc.want)
			}
			if strings.Contains(msg, "SECRET") {
				t.Errorf("error shows a secret: %q", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

func TestParseMap(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		ids     []string
		primary string // "" for none
	}{
		{"one key", `{"k1": "` + secretA + `"}`, []string{"k1"}, "k1"},
		{"one key, secret of the minimum length", `{"k1": "` + secret32 + `"}`, []string{"k1"}, "k1"},
		{"two keys in file order", `{"zz": "` + secretA + `", "aa": "` + secretB + `"}`, []string{"zz", "aa"}, ""},
		{"visible ASCII kid", `{"!#$%&'()*+,-./09:;<=>?@AZ[]^_` + "`az{|}~" + `": "` + secretA + `"}`,
			[]string{"!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~"}, "!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~"},
		{"kid named primary is a map", `{"primary": "` + secretA + `"}`, []string{"primary"}, "primary"},
		{"escaped kid", `{"k\u0031": "` + secretA + `"}`, []string{"k1"}, "k1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			checkRing(t, r, FormatMap, tc.ids, tc.primary)
		})
	}
}

func TestParseSMDE(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		ids     []string
		primary string
	}{
		{"primary only", `{"primary": {"uuid": "k1", "value": "` + secretA + `"}}`, []string{"k1"}, "k1"},
		{"primary and secondary", `{"primary": {"uuid": "k1", "value": "` + secretA + `"}, "secondary": {"uuid": "k2", "value": "` + secretB + `"}}`,
			[]string{"k1", "k2"}, "k1"},
		{"secondary first", `{"secondary": {"value": "` + secretB + `", "uuid": "k2"}, "primary": {"value": "` + secretA + `", "uuid": "k1"}}`,
			[]string{"k2", "k1"}, "k1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			checkRing(t, r, FormatSMDE, tc.ids, tc.primary)
		})
	}
}

// checkRing checks the ids, the primary and the KeyRing contract.
func checkRing(t *testing.T, r *Ring, f Format, ids []string, primary string) {
	t.Helper()
	if r.Format() != f {
		t.Errorf("format %v, want %v", r.Format(), f)
	}
	if got := strings.Join(r.IDs(), " "); got != strings.Join(ids, " ") {
		t.Errorf("ids %q, want %q", got, ids)
	}
	if r.Len() != len(ids) || len(r.Keys()) != len(ids) {
		t.Errorf("Len %d, Keys %d, want %d", r.Len(), len(r.Keys()), len(ids))
	}
	for i, k := range r.Keys() {
		if k.ID != ids[i] {
			t.Errorf("key %d: id %q, want %q", i, k.ID, ids[i])
		}
		if got := r.Lookup(k.ID); got != k || r.Lookup(k.ID) != got {
			t.Errorf("Lookup(%q) does not return the same *token.Key", k.ID)
		}
		if len(k.Secret) < MinSecretLen || !strings.HasPrefix(string(k.Secret), "SECRET") {
			t.Errorf("key %q: secret not kept as its bytes", k.ID)
		}
	}
	if r.Lookup("absent") != nil {
		t.Error("Lookup of an absent id is not nil")
	}
	k, err := r.Signing("")
	switch {
	case primary == "":
		if r.Primary() != nil || !errors.Is(err, ErrNoSigningKey) {
			t.Errorf("Signing(\"\") = %v, %v; want ErrNoSigningKey", k, err)
		}
		for _, id := range ids {
			if !strings.Contains(err.Error(), `"`+id+`"`) {
				t.Errorf("error %q does not list kid %q", err, id)
			}
		}
	case err != nil:
		t.Errorf("Signing(\"\"): %v", err)
	case k.ID != primary || r.Primary() != k || r.Lookup(primary) != k:
		t.Errorf("signing key %q, want %q", k.ID, primary)
	}
	for _, id := range ids {
		if k, err := r.Signing(id); err != nil || k != r.Lookup(id) {
			t.Errorf("Signing(%q) = %v, %v", id, k, err)
		}
	}
	if _, err := r.Signing("absent"); err == nil || !strings.Contains(err.Error(), `no key with kid "absent"`) {
		t.Errorf("Signing(absent): %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{"k1": "`+secretA+`"}`)
	if r, err := Load(good); err != nil || r.Len() != 1 {
		t.Fatalf("Load: %v", err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "absent.json"), "key file: open "},
		{"directory", dir, "key file: read "},
		{"bad content names the file", write("bad.json", `{"k1": 1}`), "key file " + filepath.Join(dir, "bad.json") + `: "k1": value is a number`},
		{"too large", write("big.json", `{"k1": "`+secretA+`"}`+strings.Repeat(" ", MaxFileSize)), "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{FormatMap: "map", FormatSMDE: "smde", 0: "unknown"} {
		if f.String() != want {
			t.Errorf("%d: %q, want %q", f, f.String(), want)
		}
	}
}
