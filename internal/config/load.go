package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadEdge returns the defaults, overlaid with the YAML file at path (if
// not empty), then with SMD_EDGE_* variables from lookup (os.LookupEnv when
// nil). The caller applies flags, then calls Validate.
func LoadEdge(path string, lookup func(string) (string, bool)) (*Edge, error) {
	c := DefaultEdge()
	if err := load(&c, path, "SMD_EDGE", lookup); err != nil {
		return nil, err
	}
	return &c, nil
}

func load(dst any, path, envPrefix string, lookup func(string) (string, bool)) error {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("config: %w", err)
		}
		if err := decodeYAML(b, dst); err != nil {
			return fmt.Errorf("config %s: %w", path, err)
		}
	}
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return applyEnv(reflect.ValueOf(dst).Elem(), envPrefix, lookup)
}

// decodeYAML decodes one YAML document strictly: unknown keys are errors.
func decodeYAML(b []byte, dst any) error {
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file keeps the defaults
		}
		return err
	}
	var extra any
	if d.Decode(&extra) != io.EOF {
		return errors.New("more than one YAML document")
	}
	return nil
}

// applyEnv sets each field from the variable named by its YAML path, e.g.
// SMD_EDGE_CACHE_MAX_BYTES for cache.max_bytes. The value is read as YAML,
// so lists and maps work too: SMD_EDGE_TRUSTED_PROXIES='[10.0.0.0/8]'.
func applyEnv(v reflect.Value, prefix string, lookup func(string) (string, bool)) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if opts == "inline" && f.Type.Kind() == reflect.Struct {
			if err := applyEnv(v.Field(i), prefix, lookup); err != nil {
				return err
			}
			continue
		}
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		fv := v.Field(i)
		if s, ok := lookup(name); ok {
			if err := yaml.Unmarshal([]byte(s), fv.Addr().Interface()); err != nil {
				return fmt.Errorf("environment %s: %w", name, err)
			}
			continue
		}
		if fv.Kind() == reflect.Struct {
			if err := applyEnv(fv, name, lookup); err != nil {
				return err
			}
		}
	}
	return nil
}
