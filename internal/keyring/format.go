package keyring

// Format is the form a key file is written in.
type Format int

// The key file forms.
const (
	// FormatMap is a JSON map from key id to secret.
	FormatMap Format = iota + 1
	// FormatSMDE is SMDE's Secrets Manager export, with a "primary" and an
	// optional "secondary" entry of "uuid" and "value".
	FormatSMDE
)

// String returns "map" or "smde".
func (f Format) String() string {
	switch f {
	case FormatMap:
		return "map"
	case FormatSMDE:
		return "smde"
	}
	return "unknown"
}
