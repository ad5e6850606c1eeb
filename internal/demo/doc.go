// Package demo assembles `smd demo`: smd serve (embedded NATS, control
// plane, edge, detector) on one hostname with the sample origin behind
// it and the website (package site) at "/", its API forwarded under /v1/
// with HMAC request signing on, and the demo's assets for HLS and DASH,
// VOD and live.
//
// It is an assembly only: it holds no request-path code and must not be
// imported by the edge, the control plane or the site.
package demo
