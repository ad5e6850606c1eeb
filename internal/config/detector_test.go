package config

import (
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/detect"
)

// TestDetectorSection: detector: at the top level of smd serve's file,
// SMD_DETECTOR_* over it, defaults otherwise, errors naming the key.
func TestDetectorSection(t *testing.T) {
	p := writeFile(t, "routes: [{prefix: /, origin: 'http://127.0.0.1:8081'}]\n"+
		"detector: {scorer: smde, shadow: [concurrency], lookback: 5m, concurrency: {min_span: 45s}}\n")
	c, err := LoadServe(p, true, env(map[string]string{"SMD_DETECTOR_INTERVAL": "3s"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := c.Detector
	if d.Scorer != detect.ScorerSMDE || len(d.Shadow) != 1 || d.Shadow[0] != detect.ScorerConcurrency ||
		d.Lookback.D() != 5*time.Minute || d.Concurrency.MinSpan.D() != 45*time.Second || d.Interval.D() != 3*time.Second {
		t.Fatalf("detector section: %+v", d)
	}
	if d.SMDE.ScoreThreshold != detect.DefaultConfig().SMDE.ScoreThreshold || !d.Enabled {
		t.Fatalf("defaults lost: %+v", d)
	}

	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"SMD_DETECTOR_SCORER": "bogus"}, "detector.scorer"},
		{map[string]string{"SMD_ACCESS_STREAM_ENABLED": "false"}, "detector.enabled"},
		{map[string]string{"SMD_DETECTOR_SMDE_SCORE_THRESHOLD": "0.5"}, "detector.smde.score_threshold"},
	} {
		c, err := LoadServe(p, true, env(tc.env))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %s", tc.env, err, tc.want)
		}
	}
	// Off, it needs no access stream.
	c, err = LoadServe(p, true, env(map[string]string{"SMD_ACCESS_STREAM_ENABLED": "false", "SMD_DETECTOR_ENABLED": "false"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("detector off, access stream off: %v", err)
	}
}
