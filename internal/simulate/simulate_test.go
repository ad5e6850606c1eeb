package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control/client"
)

// TestRunAgainstServe plays a short simulation against a whole smd serve
// and checks the harness's own measurements, independently of any
// detector: viewers are served, the restreamer pulls far faster than a
// player, the edge's access log shows a shared token's distinct addresses
// and countries, and a session revoked by hand mid-run is reported
// blocked, with its time to block where the revocation puts it, while
// legitimate sessions are reported unblocked.
func TestRunAgainstServe(t *testing.T) {
	st := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	cfg := classicConfig()
	cfg.Edge = st.edge
	cfg.API = st.admin
	cfg.Duration = 9 * time.Second
	cfg.Legit, cfg.LegitIPChange, cfg.LegitHome = 4, 0.25, 0.25
	cfg.Shared, cfg.ShareIPsMin, cfg.ShareIPsMax = 2, 3, 3
	cfg.Restreamers, cfg.RestreamerRate = 1, 100
	cfg.Impersonators = 0
	cfg.ScorerLabel = "manual-test"
	cfg.Seed = 1
	sim, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sessions := sim.Sessions()
	var kinds []Kind
	for _, s := range sessions {
		kinds = append(kinds, s.Kind)
	}
	want := []Kind{KindLegitIPChange, KindLegitHome, KindLegit, KindLegit, KindShared, KindShared, KindRestreamer}
	if !slices.Equal(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	victim := sessions[4] // the first shared token: revoked by hand
	const maxLag = 4 * time.Second

	type result struct {
		r   *Report
		err error
	}
	done := make(chan result, 1)
	runStart := time.Now()
	go func() {
		r, err := sim.Run(ctx)
		done <- result{r, err}
	}()
	time.Sleep(3 * time.Second)
	revokedAt := time.Now()
	if _, err := st.admin.Revoke(ctx, victim.ID, "simulate test", time.Hour); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	r := res.r
	if r.Seconds < 8.9 || r.Seconds > 13 {
		t.Errorf("played %v s, want about 9", r.Seconds)
	}
	byID := map[string]*SessionResult{}
	for i := range r.Sessions {
		byID[r.Sessions[i].ID] = &r.Sessions[i]
	}

	// Legitimate sessions: served, every answer 2xx, none blocked.
	var legitRate float64
	for _, s := range r.Sessions {
		if s.Abusive {
			continue
		}
		if s.Blocked || s.Requests == 0 || s.Segments == 0 {
			t.Errorf("legit session %s (%s): blocked %v, %d requests, %d segments", s.ID, s.Kind, s.Blocked, s.Requests, s.Segments)
		}
		if s.Status["200"] != s.Requests {
			t.Errorf("legit session %s (%s): answers %v", s.ID, s.Kind, s.Status)
		}
	}
	for _, k := range r.Kinds {
		if k.Kind == KindLegit {
			legitRate = k.SegmentsPerSecond
		}
	}
	// A player fetches two segments (video, audio) per 2 s, plus its
	// start buffer.
	if legitRate < 0.5 || legitRate > 3 {
		t.Errorf("legit player: %v segments/s per device, want about 1", legitRate)
	}

	// The restreamer pulls far more than a player.
	rs := r.Sessions[6]
	rate := float64(rs.Segments) / rs.Last.Sub(rs.First).Seconds()
	if rate < 5*legitRate {
		t.Errorf("restreamer: %.1f segments/s, a legit player %.1f", rate, legitRate)
	}
	if rs.Status["200"] == 0 {
		t.Errorf("restreamer answers %v", rs.Status)
	}

	// The revoked session: blocked after the revocation, soon after.
	v := byID[victim.ID]
	if !v.Blocked || v.TimeToBlockS == nil {
		t.Fatalf("revoked session not reported blocked: %+v", v)
	}
	if v.Revocation == nil || v.Revocation.Type != "manual" || v.Revocation.Reason != "simulate test" {
		t.Errorf("revocation read back: %+v", v.Revocation)
	}
	if v.BlockedAt.Before(revokedAt) {
		// Only a detector in the stack could have blocked it earlier.
		t.Logf("session %s was blocked %v before the manual revocation: timing not checked", v.ID, revokedAt.Sub(v.BlockedAt))
	} else {
		// The next request of one of its three devices comes within a
		// playlist reload (2 s); some slack for a loaded machine.
		if lag := v.BlockedAt.Sub(revokedAt); lag > maxLag {
			t.Errorf("first 403 %v after the revocation", lag)
		}
		wantTTB := revokedAt.Sub(v.First).Seconds()
		if got := *v.TimeToBlockS; got < wantTTB-0.001 || got > wantTTB+maxLag.Seconds() {
			t.Errorf("time to block %.2f s, the revocation came %.2f s after the first request", got, wantTTB)
		}
	}
	if v.First.Before(runStart) || v.First.After(runStart.Add(maxRamp+2*time.Second)) {
		t.Errorf("first request at %v, run started %v", v.First, runStart)
	}
	if v.Status["403"] == 0 || v.Status["200"] == 0 {
		t.Errorf("revoked session answers %v", v.Status)
	}

	// The report's sums.
	if r.LegitBlocked != 0 || r.Legit != 4 || r.Abusive != 3 || r.Shared3 != 2 {
		t.Errorf("report counts: legit %d/%d, abusive %d, shared3 %d", r.LegitBlocked, r.Legit, r.Abusive, r.Shared3)
	}
	if r.AbusiveBlocked < 1 || r.Shared3Blocked < 1 || r.TimeToBlock.N != r.AbusiveBlocked {
		t.Errorf("report: %d abusive blocked, %d shared3 blocked, time to block over %d", r.AbusiveBlocked, r.Shared3Blocked, r.TimeToBlock.N)
	}
	if r.Precision == nil || *r.Precision != 1 || r.Recall == nil || math.Abs(*r.Recall-float64(r.AbusiveBlocked)/3) > 1e-3 {
		t.Errorf("precision %v recall %v", ratio(r.Precision), ratio(r.Recall))
	}
	if !r.Revocations.Checked || r.Revocations.Manual < 1 {
		t.Errorf("revocations %+v", r.Revocations)
	}
	if !r.Targets[0].Met {
		t.Errorf("target %+v", r.Targets[0])
	}
	total := 0
	for _, n := range r.Status {
		total += n
	}
	if total != r.Requests || r.Status["error"] != 0 || r.Problems != 0 {
		t.Errorf("requests %d, status %v", r.Requests, r.Status)
	}

	// The edge saw each shared token from its three addresses and
	// countries.
	var events []accessEvent
	deadline := time.Now().Add(5 * time.Second)
	for {
		events = readAccessLog(t, st.accessLog)
		if len(events) >= r.Requests || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, s := range sessions[4:6] {
		ips, countries := map[string]bool{}, map[string]bool{}
		for _, e := range events {
			if e.SessionID == s.ID {
				ips[e.ViewerIP], countries[e.Country] = true, true
			}
		}
		for _, d := range s.Devices {
			if !ips[d.IP.String()] || !countries[d.Country] {
				t.Errorf("shared %s: the edge did not see %s from %s: %v %v", s.ID, d.IP, d.Country, ips, countries)
			}
		}
		if len(ips) != 3 || len(countries) != 3 {
			t.Errorf("shared %s: the edge saw %d addresses and %d countries, want 3", s.ID, len(ips), len(countries))
		}
	}
	// A home's two devices, and only they, for its token.
	home := sessions[1]
	uas := map[string]bool{}
	for _, e := range events {
		if e.SessionID == home.ID {
			uas[e.ViewerIP+" "+e.UserAgent] = true
		}
	}
	if len(uas) != 2 {
		t.Errorf("home %s: the edge saw %v", home.ID, uas)
	}

	// Both outputs.
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || back.Scorer != "manual-test" || len(back.Sessions) != 7 {
		t.Errorf("JSON round trip: %v %+v", err, back.Scorer)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"scorer manual-test", "restreamer", "precision 1.000", "targets", "no legitimate session blocked"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, text.String())
		}
	}
	t.Logf("report:\n%s", text.String())
}

// TestNewErrors checks the errors of New against a real control plane: an
// asset that binds the viewer's IP, an unknown asset, and an issuer key
// that may not create the default asset.
func TestNewErrors(t *testing.T) {
	st := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := st.admin.CreateAsset(ctx, []byte(`{"id": "bound", "url_path": "/live/b/master.m3u8",
		"endpoint_hostname": "cdn.example.com", "token_policy": {"ip": true, "ssn": true, "paths": ["/live/b/"], "exp": "+1h"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.admin.CreateAsset(ctx, []byte(`{"id": "dash", "url_path": "/live/d/manifest.mpd",
		"endpoint_hostname": "cdn.example.com", "token_policy": {"ssn": true, "paths": ["/live/d/"], "exp": "+1h"}}`)); err != nil {
		t.Fatal(err)
	}
	issuerTok, err := readFile(strings.TrimSuffix(st.adminFile, ".admin") + ".issuer")
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := client.New(st.edge, issuerTok)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, asset string
		api         *client.Client
		want        string
	}{
		{"ip bound", "bound", st.admin, "binds the viewer's IP address"},
		{"dash", "dash", st.admin, "HLS (.m3u8) only"},
		{"unknown asset", "nope", st.admin, "asset nope does not exist"},
		{"issuer cannot create", "", issuer, "asset smd_simulate does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := classicConfig()
			cfg.Edge, cfg.API, cfg.AssetID = st.edge, tc.api, tc.asset
			_, err := New(ctx, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
	// With the default asset made, an issuer key runs, but cannot read
	// revocations back.
	cfg := classicConfig()
	cfg.Edge, cfg.API, cfg.Duration = st.edge, st.admin, 10*time.Millisecond
	cfg.Legit, cfg.Shared, cfg.Restreamers = 1, 0, 0
	if _, err := New(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.API = issuer
	sim, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sim.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Revocations.Checked || !strings.Contains(r.Revocations.Note, "may not read revocations") {
		t.Errorf("revocations %+v", r.Revocations)
	}
	if _, err := sim.Run(ctx); err == nil {
		t.Error("a second Run did not fail")
	}
}
