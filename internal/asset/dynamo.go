package asset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/smd-media/smd/internal/strictjson"
)

// MaxImport bounds the DynamoDB JSON read by ParseDynamoDB.
const MaxImport = 32 << 20

// ParseDynamoDB reads assets from SMDE's asset table in DynamoDB's JSON
// form, where every value is typed: {"id": {"S": "m1"}, "token_policy":
// {"M": {"ip": {"BOOL": true}, ...}}}. It accepts one item, an array of
// items, the output of aws dynamodb scan ({"Items": [...]}) or get-item
// ({"Item": {...}}), and an export to S3 (one {"Item": {...}} per line).
// Item attributes other than id, url_path, endpoint_hostname and
// token_policy are ignored (SMDE's table may carry more); the token
// policy is read strictly. Every asset is validated; the first bad one
// fails the whole import with an error naming the item (counted from 0)
// and the field. Ids must be unique.
func ParseDynamoDB(b []byte) ([]*Asset, error) {
	if len(b) > MaxImport {
		return nil, fmt.Errorf("import: larger than %d bytes", MaxImport)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var items []map[string]json.RawMessage
	for {
		var v json.RawMessage
		err := d.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, errors.New("import: the JSON ends in the middle of a value")
			}
			return nil, fmt.Errorf("import: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		// A member given twice would be read one way here and maybe
		// another way elsewhere: refused.
		if err := strictjson.CheckValue(v); err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		got, err := itemsOf(v)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		items = append(items, got...)
	}
	if len(items) == 0 {
		return nil, errors.New("import: no items")
	}
	out := make([]*Asset, 0, len(items))
	seen := make(map[string]int, len(items))
	for i, item := range items {
		a, err := fromItem(item)
		if err != nil {
			return nil, fmt.Errorf("import: item %d: %w", i, err)
		}
		if j, dup := seen[a.ID]; dup {
			return nil, fmt.Errorf("import: item %d: %w", i, &FieldError{"id", fmt.Sprintf("%q repeats item %d", a.ID, j)})
		}
		seen[a.ID] = i
		out = append(out, a)
	}
	return out, nil
}

// itemsOf unwraps one top-level JSON value into items.
func itemsOf(v json.RawMessage) ([]map[string]json.RawMessage, error) {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '[' {
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(v, &list); err != nil {
			return nil, errors.New("an array must hold item objects")
		}
		return list, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err != nil {
		return nil, errors.New("want an item, an array of items, {\"Items\": [...]} or {\"Item\": {...}}")
	}
	if raw, ok := obj["Items"]; ok {
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, errors.New("Items: want an array of item objects")
		}
		return list, nil
	}
	if raw, ok := obj["Item"]; ok {
		var item map[string]json.RawMessage
		if err := json.Unmarshal(raw, &item); err != nil || item == nil {
			return nil, errors.New("Item: want an item object")
		}
		return []map[string]json.RawMessage{item}, nil
	}
	return []map[string]json.RawMessage{obj}, nil
}

// fromItem converts a typed item to an asset and validates it.
func fromItem(item map[string]json.RawMessage) (*Asset, error) {
	plain := make(map[string]any, 4)
	for _, name := range []string{"id", "url_path", "endpoint_hostname", "token_policy"} {
		raw, ok := item[name]
		if !ok {
			return nil, &FieldError{name, "missing"}
		}
		v, err := attrValue(raw, name)
		if err != nil {
			return nil, err
		}
		plain[name] = v
	}
	b, err := json.Marshal(plain)
	if err != nil {
		return nil, &FieldError{"asset", err.Error()}
	}
	a, err := decode(b, true)
	if err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// attrValue converts one DynamoDB attribute value ({"S": ...}, {"N": ...},
// {"BOOL": ...}, {"NULL": true}, {"M": {...}}, {"L": [...]}, {"SS": [...]},
// {"NS": [...]}) to a plain JSON value; field names it in errors.
func attrValue(raw json.RawMessage, field string) (any, error) {
	var av map[string]json.RawMessage
	if err := json.Unmarshal(raw, &av); err != nil || len(av) != 1 {
		return nil, &FieldError{field, `want one DynamoDB attribute value such as {"S": "..."}`}
	}
	var typ string
	var v json.RawMessage
	for k, x := range av {
		typ, v = k, x
	}
	{
		bad := func(want string) error {
			return &FieldError{field, fmt.Sprintf("%s: want %s", typ, want)}
		}
		switch typ {
		case "S":
			var s string
			if json.Unmarshal(v, &s) != nil {
				return nil, bad("a string")
			}
			return s, nil
		case "N":
			var s string
			if json.Unmarshal(v, &s) != nil || !isNumber(s) {
				return nil, bad("a number in a string")
			}
			return json.Number(s), nil
		case "BOOL":
			var b bool
			if json.Unmarshal(v, &b) != nil {
				return nil, bad("true or false")
			}
			return b, nil
		case "NULL":
			return nil, nil
		case "M":
			var m map[string]json.RawMessage
			if json.Unmarshal(v, &m) != nil || m == nil {
				return nil, bad("an object of attribute values")
			}
			out := make(map[string]any, len(m))
			for _, k := range slices.Sorted(maps.Keys(m)) {
				x, err := attrValue(m[k], field+"."+k)
				if err != nil {
					return nil, err
				}
				if x != nil { // NULL: as if absent
					out[k] = x
				}
			}
			return out, nil
		case "L":
			var l []json.RawMessage
			if json.Unmarshal(v, &l) != nil {
				return nil, bad("an array of attribute values")
			}
			out := make([]any, len(l))
			for i, x := range l {
				y, err := attrValue(x, fmt.Sprintf("%s[%d]", field, i))
				if err != nil {
					return nil, err
				}
				out[i] = y
			}
			return out, nil
		case "SS":
			var l []string
			if json.Unmarshal(v, &l) != nil {
				return nil, bad("an array of strings")
			}
			return l, nil
		case "NS":
			var l []string
			if json.Unmarshal(v, &l) != nil {
				return nil, bad("an array of numbers in strings")
			}
			out := make([]any, len(l))
			for i, s := range l {
				if !isNumber(s) {
					return nil, bad("an array of numbers in strings")
				}
				out[i] = json.Number(s)
			}
			return out, nil
		default:
			return nil, &FieldError{field, fmt.Sprintf("DynamoDB type %q is not supported here", typ)}
		}
	}
}

// isNumber reports whether s is a DynamoDB number.
func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && json.Valid([]byte(s))
}
