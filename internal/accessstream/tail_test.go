package accessstream

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

// TestTail: Tail reads what the edges published, filters by session,
// stops when asked, starts at Since, and follows new events.
func TestTail(t *testing.T) {
	_, nc := natstest.Single(t)
	st := openStore(t, nc)
	p, _ := startPublisher(t, PublisherConfig{SpoolDir: t.TempDir(), Linger: 5 * time.Millisecond}, nc)
	for i := range 30 {
		p.Log(event(i, []string{"A", "B", "C"}[i%3]))
	}
	waitFor(t, 10*time.Second, "published", func() bool { return p.Published() == 30 })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	read := func(cfg TailConfig, stopAfter int) []int {
		t.Helper()
		var got []int
		bad, err := Tail(ctx, st.JS, cfg, func(e *accesslog.Event) bool {
			got = append(got, reqIndex(t, e))
			return stopAfter == 0 || len(got) < stopAfter
		})
		if err != nil || bad != 0 {
			t.Fatalf("Tail(%+v): %d bad, %v", cfg, bad, err)
		}
		return got
	}

	all := read(TailConfig{Since: time.Hour}, 0)
	slices.Sort(all)
	if len(all) != 30 || all[0] != 0 || all[29] != 29 {
		t.Fatalf("all: %v", all)
	}
	if b := read(TailConfig{Since: time.Hour, Session: "B"}, 0); !slices.Equal(b, []int{1, 4, 7, 10, 13, 16, 19, 22, 25, 28}) {
		t.Fatalf("session B: %v", b)
	}
	if got := read(TailConfig{Since: time.Hour}, 3); len(got) != 3 {
		t.Fatalf("stopped after 3: %v", got)
	}
	later := func() time.Time { return time.Now().Add(time.Hour) }
	if got := read(TailConfig{Since: time.Minute, Now: later}, 0); len(got) != 0 {
		t.Fatalf("from an hour ahead: %v", got)
	}

	// Follow: events published after Tail began arrive too.
	followed := make(chan []int)
	go func() {
		var got []int
		_, err := Tail(ctx, st.JS, TailConfig{Since: time.Hour, Session: "Z", Follow: true}, func(e *accesslog.Event) bool {
			got = append(got, reqIndex(t, e))
			return len(got) < 2
		})
		if err != nil {
			t.Error(err)
		}
		followed <- got
	}()
	time.Sleep(1500 * time.Millisecond) // past a fetch that finds nothing
	p.Log(event(100, "Z"))
	p.Log(event(101, "Z"))
	select {
	case got := <-followed:
		if !slices.Equal(got, []int{100, 101}) {
			t.Fatalf("followed: %v", got)
		}
	case <-ctx.Done():
		t.Fatal("Follow did not see the new events")
	}
}
