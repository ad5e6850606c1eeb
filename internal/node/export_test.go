package node

import "github.com/smd-media/smd/internal/cache"

// CacheStats gives the external tests (package node_test) an edge
// server's cache counters.
func CacheStats(s *EdgeServer) cache.Stats { return s.cache.Stats() }
