// Package cache is the caching reverse proxy at the core of the edge: the
// edge's handler calls Cache.Serve once a request has passed the token and
// revocation checks, and Serve answers it from memory or from the origin.
//
// The contract:
//
//   - One origin fetch per object, however many viewers ask at once. The
//     fetch runs on its own goroutine and is shared by every viewer that asks
//     while it runs; each of them is sent bytes as they arrive from the
//     origin, at its own pace, from one growing in-memory buffer, so a slow
//     viewer slows neither the origin read nor the other viewers. The fetch
//     outlives the viewer that started it and is cancelled only when no
//     viewer waits any more; a partial body is never cached.
//   - Freshness comes from the origin (Cache-Control s-maxage, max-age,
//     Expires against Date, minus Age); no-store, no-cache and private
//     responses are not stored. Otherwise playlists (.m3u8, .mpd) get
//     Config.PlaylistTTL and everything else Config.SegmentTTL. Only 200
//     responses are stored; other statuses (404, 5xx, ...) are passed
//     through to the viewers who asked, never cached.
//   - An expired object is kept and served as "STALE" for
//     Config.StaleIfError past its expiry when its refresh fails with a 5xx,
//     a connection error or a timeout (unless it said must-revalidate).
//   - Memory is bounded: the bytes of stored objects plus those reserved by
//     fetches that will be stored never exceed Config.MaxBytes; objects are
//     evicted least recently used first (a second-chance clock). Bodies
//     larger than Config.MaxObjectBytes are streamed through uncached, with
//     a bounded window of memory per fetch.
//   - Range requests (one range) are answered 206 from stored objects and
//     from fetches in progress; HEAD is answered with headers only.
//     If-None-Match and If-Modified-Since are answered 304 when they match.
//   - The origin request is a GET of Request.URL with User-Agent "smd-edge";
//     no viewer header is forwarded, so one response is right for every
//     viewer. Viewers get only Content-Type, Content-Encoding,
//     Content-Language, Content-Length, Content-Range, Last-Modified, ETag,
//     Cache-Control, Expires, Accept-Ranges and Age from the origin's
//     response: never hop-by-hop headers or Set-Cookie.
//   - An unreachable origin is answered 502, a timeout 504.
//
// The cache key (Request.Key) is the caller's: it must never hold a token.
package cache
