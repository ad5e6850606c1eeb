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
	KindImpersonator  Kind = "impersonator"
)

// Kinds lists the kinds in report order.
var Kinds = []Kind{KindLegit, KindLegitIPChange, KindLegitHome, KindShared, KindRestreamer, KindImpersonator}

// Abusive reports whether sessions of the kind should be blocked. An
// impersonator is an attack that must revoke nobody (its requests name a
// victim's session, never its own), so it is not counted here but in a
// target of its own.
func (k Kind) Abusive() bool { return k == KindShared || k == KindRestreamer }
