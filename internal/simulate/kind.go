package simulate

// Kind is the kind of a simulated session.
type Kind string

// Session kinds; see the package doc and docs/simulate.md.
const (
	KindLegit         Kind = "legit"
	KindLegitIPChange Kind = "legit-ip-change"
	KindLegitHome     Kind = "legit-home"
	// The hard legitimate kinds: what a detector that drifts, or counts
	// too simply, blocks.
	KindHousehold Kind = "household"
	KindCGNAT     Kind = "cgnat"
	KindMobile    Kind = "mobile"
	KindSeek      Kind = "vod-seek"
	KindABR       Kind = "abr"
	KindPause     Kind = "pause"
	KindTV        Kind = "tv-prefetch"
	KindLongVOD   Kind = "long-vod"

	KindShared     Kind = "shared"
	KindRestreamer Kind = "restreamer"
	// The abuse that hides from a detector that counts only what happens
	// at once, or only requests.
	KindWide          Kind = "wide"
	KindWideIntl      Kind = "wide-intl"
	KindRelay         Kind = "restreamer-rt"
	KindDownloader4x  Kind = "downloader-4x"
	KindDownloader10x Kind = "downloader-10x"

	KindImpersonator Kind = "impersonator"
)

// Kinds lists the kinds in report order.
var Kinds = []Kind{KindLegit, KindLegitIPChange, KindLegitHome, KindHousehold, KindCGNAT, KindMobile, KindSeek,
	KindABR, KindPause, KindTV, KindLongVOD, KindShared, KindRestreamer, KindWide, KindWideIntl, KindRelay,
	KindDownloader4x, KindDownloader10x, KindImpersonator}

// Abusive reports whether sessions of the kind should be blocked. An
// impersonator is an attack that must revoke nobody (its requests name a
// victim's session, never its own), so it is not counted here but in a
// target of its own.
func (k Kind) Abusive() bool {
	switch k {
	case KindShared, KindRestreamer, KindWide, KindWideIntl, KindRelay, KindDownloader4x, KindDownloader10x:
		return true
	}
	return false
}

// BlockTarget is the most the p95 time to block of an abusive kind may
// be, in seconds: TargetTimeToBlock for every kind.
func (k Kind) BlockTarget() float64 { return TargetTimeToBlock.Seconds() }
