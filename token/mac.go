package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
)

// macState is one reusable HMAC-SHA256 computation under a key. crypto/hmac
// restores its keyed state on Reset instead of hashing the key again, and
// hashing from a buffer owned by the state keeps the caller's message off
// the heap: the request path verifies one or two MACs per token without
// allocating.
type macState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

func (k *Key) getMAC() *macState {
	if s, ok := k.macs.Get().(*macState); ok {
		s.h.Reset()
		return s
	}
	return &macState{h: hmac.New(sha256.New, k.Secret)}
}

// macOf hashes msg, copied into the state's buffer. (Not generic over
// string | []byte: a generic shape makes escape analysis move the caller's
// message to the heap.)
func macOf(k *Key, msg []byte) *macState {
	s := k.getMAC()
	s.buf = append(s.buf[:0], msg...)
	return s.finish()
}

func macOfString(k *Key, msg string) *macState {
	s := k.getMAC()
	s.buf = append(s.buf[:0], msg...)
	return s.finish()
}

func (s *macState) finish() *macState {
	s.h.Write(s.buf)
	s.h.Sum(s.sum[:0])
	if cap(s.buf) > 64<<10 {
		s.buf = nil // don't keep a huge buffer in the pool
	}
	return s
}

// MAC appends HMAC-SHA256(k.Secret, msg) to dst.
func (k *Key) MAC(dst, msg []byte) []byte {
	s := macOf(k, msg)
	dst = append(dst, s.sum[:]...)
	k.macs.Put(s)
	return dst
}

// VerifyMAC reports, in constant time, whether mac is HMAC-SHA256(k.Secret, msg).
func (k *Key) VerifyMAC(msg, mac []byte) bool { return k.equal(macOf(k, msg), mac) }

// VerifyMACString is VerifyMAC for a message held in a string.
func (k *Key) VerifyMACString(msg string, mac []byte) bool {
	return k.equal(macOfString(k, msg), mac)
}

func (k *Key) equal(s *macState, mac []byte) bool {
	ok := hmac.Equal(s.sum[:], mac)
	k.macs.Put(s)
	return ok
}
