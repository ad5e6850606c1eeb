package simulate

import "context"

// legitViewer is a legitimate session on one device from one address: a
// player at the real segment cadence for the whole run. No detector should
// block it.
type legitViewer struct {
	p *player
}

func (v *legitViewer) run(ctx context.Context) { v.p.run(ctx) }

var _ model = (*legitViewer)(nil)
