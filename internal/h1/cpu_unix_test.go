//go:build unix

package h1

import (
	"syscall"
	"testing"
	"time"
)

// cpuClock measures the CPU time (user and system) of the process over a
// benchmark loop: on a shared machine it moves far less than wall time,
// which other processes stretch. Client and server share the process, so
// it counts both.
type cpuClock struct{ t0 time.Duration }

func startCPU() cpuClock { return cpuClock{processCPU()} }

func (c cpuClock) report(b *testing.B) {
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-c.t0)/float64(b.N), "cpu-ns/op")
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
