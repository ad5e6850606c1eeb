// Package seal encrypts small secrets at rest with a master key: AES-256-GCM
// with associated data, so that a sealed value is bound to the record it
// belongs to (a signing key's id) and cannot be moved to another.
//
// The contract:
//
//   - A master key is 32 random bytes, written as base64 (standard or URL
//     alphabet, with or without padding) or as 64 hex digits. It comes from
//     the SMD_MASTER_KEY environment variable or from a file; a file must
//     not be readable by group or others. [LoadOrCreate] creates the file
//     with mode 0600 when it is absent (the embedded, single-machine case).
//   - A sealed value is text: "smdseal1.<master key id>.<base64url(nonce ||
//     ciphertext)>". The master key id is a fingerprint of the key (never the
//     key), so opening with another master key fails with a
//     [*WrongKeyError] naming both ids, never with garbage.
//   - Open fails with [ErrTampered] when the value was altered or is bound to
//     other associated data. Error messages never contain key material or
//     plaintext.
package seal
