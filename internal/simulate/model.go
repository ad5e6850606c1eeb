package simulate

import "context"

// model is how the devices of one session behave: run plays until the
// session is blocked or ctx ends.
type model interface {
	run(ctx context.Context)
}
