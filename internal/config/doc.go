// Package config holds smd's configuration: typed structs whose field
// comments are the user documentation, with defaults, loaded from a YAML
// file, then SMD_* environment variables, then command-line flags (set by
// the caller), and checked by Validate with errors that name the key.
package config
