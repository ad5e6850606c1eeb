package simulate

// Kind is the kind of a simulated session.
type Kind string

// Session kinds; see the package doc.
const (
	KindLegit         Kind = "legit"
	KindLegitIPChange Kind = "legit-ip-change"
	KindLegitHome     Kind = "legit-home"
	KindShared        Kind = "shared"
	KindRestreamer    Kind = "restreamer"
)

// Kinds lists the kinds in report order.
var Kinds = []Kind{KindLegit, KindLegitIPChange, KindLegitHome, KindShared, KindRestreamer}

// Abusive reports whether sessions of the kind should be blocked.
func (k Kind) Abusive() bool { return k == KindShared || k == KindRestreamer }
