package revocation

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// contents returns a set's entries.
func contents(s *Set) map[string]int64 {
	m := map[string]int64{}
	s.each(func(id string, exp int64) { m[id] = exp })
	return m
}

func TestSnapshotRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := NewSet()
	s.Add("forever", time.Time{})
	s.Add("later", now.Add(time.Hour))
	s.Add("gone", now.Add(-time.Second))
	s.Add(strings.Repeat("x", 200), now.Add(time.Minute))
	p := filepath.Join(t.TempDir(), "revoked.snap")
	n, err := writeSnapshot(p, s, 42, now.UnixNano())
	if err != nil || n != 3 {
		t.Fatalf("write: %d, %v", n, err)
	}
	got := NewSet()
	rev, n, err := readSnapshot(p, got)
	if err != nil || rev != 42 || n != 3 {
		t.Fatalf("read: %d, %d, %v", rev, n, err)
	}
	want := contents(s)
	delete(want, "gone") // expired entries are not written
	if !maps.Equal(contents(got), want) || got.Len() != 3 {
		t.Fatalf("got %v\nwant %v", contents(got), want)
	}
	// Rewriting replaces the file; no temporary file stays behind.
	s.Remove("forever")
	if _, err := writeSnapshot(p, s, 43, now.UnixNano()); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(filepath.Dir(p))
	if len(files) != 1 {
		t.Fatalf("files left: %v", files)
	}
	// An empty set is a valid snapshot.
	if _, err := writeSnapshot(p, NewSet(), 7, now.UnixNano()); err != nil {
		t.Fatal(err)
	}
	if rev, n, err := readSnapshot(p, NewSet()); rev != 7 || n != 0 || err != nil {
		t.Fatalf("empty: %d, %d, %v", rev, n, err)
	}
	if _, _, err := readSnapshot(filepath.Join(t.TempDir(), "none"), NewSet()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// encode returns a snapshot of entries.
func encode(t testing.TB, rev uint64, entries ...snapshotEntry) []byte {
	var b bytes.Buffer
	if err := encodeSnapshot(&b, rev, entries); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// resum fixes the checksum of a crafted snapshot.
func resum(b []byte) []byte {
	b = slices.Clone(b)
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], crcTable))
	return b
}

func TestSnapshotRejectsDamage(t *testing.T) {
	good := encode(t, 9, snapshotEntry{"aa", 0}, snapshotEntry{"bb", 5})
	setCount := func(n uint64) []byte {
		b := slices.Clone(good)
		binary.LittleEndian.PutUint64(b[16:], n)
		return resum(b)
	}
	flip := slices.Clone(good)
	flip[30] ^= 1
	badID := slices.Clone(good)
	badID[25] = '-' // first byte of "aa"
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "not an smd"},
		{"magic", append([]byte("SMDREV2\n"), good[8:]...), "not an smd"},
		{"truncated", good[:len(good)-3], "checksum"},
		{"flipped bit", flip, "checksum"},
		{"bad id with a valid checksum", resum(badID), "bad session id"},
		{"count too large", setCount(1 << 60), "larger than the file"},
		{"count one more", setCount(3), "larger than the file"},
		{"count past the entries", func() []byte {
			b := encode(t, 1, snapshotEntry{"aaaaaaaaa", 0})
			binary.LittleEndian.PutUint64(b[16:], 2)
			return resum(b)
		}(), "bad id length"},
		{"count one less", setCount(1), "trailing bytes"},
		{"zero-length id", resum(append(encode(t, 1, snapshotEntry{"a", 0})[:24], 0, 0, 0, 0, 0, 0, 0)), "bad id length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSet("kept")
			_, _, err := parseSnapshot(tc.b, func(id string, exp int64) { s.addRaw(id, exp) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if s.Len() != 1 || !s.Revoked("kept") {
				t.Fatal("a rejected snapshot changed the set")
			}
		})
	}
}

// FuzzParseSnapshot: no panic on any bytes; what is accepted holds valid
// ids and encodes back to the same bytes.
func FuzzParseSnapshot(f *testing.F) {
	f.Add(encode(f, 0))
	f.Add(encode(f, 3, snapshotEntry{"a", 0}, snapshotEntry{"B_9", 1 << 62}))
	f.Add(encode(f, 1<<63, snapshotEntry{strings.Repeat("z", 200), 1}))
	f.Add([]byte("SMDREV1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []snapshotEntry
		rev, n, err := parseSnapshot(b, func(id string, exp int64) { got = append(got, snapshotEntry{id, exp}) })
		if err != nil {
			if got != nil {
				t.Fatal("entries added from a rejected snapshot")
			}
			return
		}
		if n != len(got) {
			t.Fatalf("count %d, %d entries", n, len(got))
		}
		for _, e := range got {
			if !ValidSessionID(e.id) || e.exp < 0 {
				t.Fatalf("accepted %q %d", e.id, e.exp)
			}
		}
		// Varints have several encodings; the canonical one round trips.
		again := encode(t, rev, got...)
		var got2 []snapshotEntry
		if _, _, err := parseSnapshot(again, func(id string, exp int64) { got2 = append(got2, snapshotEntry{id, exp}) }); err != nil || !slices.Equal(got, got2) {
			t.Fatalf("re-encoded snapshot: %v", err)
		}
	})
}
