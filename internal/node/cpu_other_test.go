//go:build !unix

package node_test

import "time"

func processCPU() time.Duration { return 0 }
