//go:build !unix

package h1

import "testing"

type cpuClock struct{}

func startCPU() cpuClock             { return cpuClock{} }
func (cpuClock) report(_ *testing.B) {}
