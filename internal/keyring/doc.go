// Package keyring loads the signing keys of smd from a key file.
//
// A key file is JSON in one of two forms:
//
//   - a map from key id to secret: {"<kid>": "<secret>", ...};
//   - SMDE's Secrets Manager export:
//     {"primary": {"uuid": "<kid>", "value": "<secret>"},
//     "secondary": {"uuid": "<kid>", "value": "<secret>"}}, where
//     "secondary" is optional and each entry has exactly "uuid" and "value".
//
// The contract:
//
//   - A loaded [Ring] is a [token.KeyRing]: Lookup returns the same *token.Key
//     for the same id every time, so verifiers may cache per key.
//   - The key that signs is SMDE's "primary", or the only key of a map; with
//     several keys in a map the caller must name it (see [Ring.Signing]).
//   - Secrets are used as their UTF-8 bytes: SMDE's 128-hex-digit secrets are
//     text, not hex-decoded. A secret must be at least [MinSecretLen] bytes.
//   - Key ids are non-empty and made of visible ASCII (0x21-0x7E) other than
//     '"' and '\'; no two keys share an id.
//   - Loading is strict: anything else (not JSON, an empty file, duplicate
//     ids, non-string values, unknown fields in the SMDE form, a mix of the
//     two forms) is an error. Errors name the problem and the key id but
//     never contain a secret.
//
// It also holds the key ring of a deployment in NATS: one JSON document
// ([Doc], key "ring" of the smd_keys bucket, changed only by
// compare-and-set with [UpdateDoc]) whose keys are in the states next,
// primary, secondary or retired, with their secrets sealed with the master
// key (package seal) and bound to their key ids, and the persisted progress
// of the rotation (package rotation drives it). On top of it:
//
//   - [Live] is a changing ring: lock-free Lookup over the next, primary and
//     secondary keys, the same *token.Key for the same key across updates,
//     and the primary as signing key;
//   - [Watcher] keeps a Live ring equal to the bucket for an edge, writes a
//     local snapshot (secrets still sealed) and starts from it when NATS is
//     unreachable; it never gives up a good ring for a bad entry;
//   - [Import] brings SMDE's Secrets Manager export into the ring.
package keyring
