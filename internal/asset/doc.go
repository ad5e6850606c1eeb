// Package asset holds the catalog of titles that the token API issues
// playback URLs for: SMDE's asset table. An [Asset] is an id, the path of
// the title's main playlist or manifest, the hostname viewers play it
// from, and the SMDE token policy of its tokens.
//
// The contract:
//
//   - [Parse] reads an asset from strict JSON (unknown fields refused) and
//     [Asset.Validate] checks it; every error is a [*FieldError] naming the
//     JSON field ("url_path", "token_policy.paths", ...).
//   - [ParseDynamoDB] reads SMDE's DynamoDB items (one item, an array, a
//     scan or get-item output, or an export's JSON lines) and returns
//     validated assets, or an error naming the item and the field.
//   - [Store] keeps assets in the smd_assets bucket (key = id, value =
//     JSON). Create refuses an existing id (ErrExists); Update and Delete
//     refuse a missing one (ErrNotFound) and a concurrent change
//     (ErrConflict); List pages in id order.
package asset
