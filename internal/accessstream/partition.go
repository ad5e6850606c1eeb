package accessstream

import (
	"strconv"

	"github.com/smd-media/smd/internal/natsstore"
)

// Partition returns the partition of an event: FNV-1a (32 bits) of the
// session id modulo natsstore.AccessPartitions, so that all the events of
// a session land on one subject and one consumer. An event without a
// session id (refused before a token was read) goes by its request id,
// which spreads such events evenly; with neither, partition 0.
func Partition(sessionID, requestID string) int {
	key := sessionID
	if key == "" {
		key = requestID
	}
	if key == "" {
		return 0
	}
	return int(fnv1a(offset32, key) % natsstore.AccessPartitions)
}

// offset32 is FNV-1a's initial hash (32 bits).
const offset32 = 2166136261

// fnv1a continues the FNV-1a hash h over key, as hash/fnv computes it,
// without its allocation.
func fnv1a[T string | []byte](h uint32, key T) uint32 {
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return h
}

// Subject returns the subject of partition p: smd.access.<p>.
func Subject(p int) string {
	return natsstore.AccessSubjectPrefix + strconv.Itoa(p)
}
