//go:build race

package node

// raceEnabled: the race detector slows everything down several times;
// the soak scales its timing bound under it.
const raceEnabled = true
