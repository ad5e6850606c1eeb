package node

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/smd-media/smd/internal/certs/certstest"
	"github.com/smd-media/smd/internal/config"
)

// deployDir is the repository's deploy/ folder.
var deployDir = filepath.Join("..", "..", "deploy")

// alertRules is the shape of a Prometheus rule file, strictly.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// TestAlertRulesPromtool: promtool (Debian's prometheus package, which
// scripts/test.sh installs) accepts the rules and their unit tests pass:
// each alert fires on the series it is written for.
func TestAlertRulesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed (apt-get install prometheus; scripts/test.sh does)")
	}
	dir := filepath.Join(deployDir, "prometheus")
	for _, args := range [][]string{{"check", "rules", "smd-alerts.yml"}, {"test", "rules", "smd-alerts.test.yml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestMonitoringNamesExportedMetrics: every metric the alerting rules and
// the Grafana dashboard query is one smd serve really exports (after a
// request, so that the labelled ones exist), every alert has a severity,
// a summary and a description, and the dashboard's panels all query the
// templated data source.
func TestMonitoringNamesExportedMetrics(t *testing.T) {
	var rules alertRules
	b, err := os.ReadFile(filepath.Join(deployDir, "prometheus", "smd-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("smd-alerts.yml: %v", err)
	}
	var exprs []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" ||
				!slices.Contains([]string{"critical", "warning"}, r.Labels["severity"]) {
				t.Errorf("rule %q of %s: needs alert, expr, severity critical or warning, summary and description", r.Alert, g.Name)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	var dash struct {
		Panels []struct {
			Title      string `json:"title"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	b, err = os.ReadFile(filepath.Join(deployDir, "grafana", "smd-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("smd-dashboard.json: %v", err)
	}
	if len(dash.Panels) < 10 {
		t.Errorf("%d panels", len(dash.Panels))
	}
	for _, p := range dash.Panels {
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: data source %q, %d queries", p.Title, p.Datasource.UID, len(p.Targets))
		}
		for _, q := range p.Targets {
			exprs = append(exprs, q.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		exprs = append(exprs, v.Definition)
	}
	want := map[string]bool{}
	for _, e := range exprs {
		for _, m := range regexp.MustCompile(`\bsmd_[a-z0-9_]+`).FindAllString(e, -1) {
			want[m] = true
		}
	}

	cfg := serveConfig(t, true, sampleOrigin(t))
	// HTTPS on, so that the certificate's series exist.
	certDir := t.TempDir()
	cf, kf := filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")
	certstest.Write(t, cf, kf, 1)
	cfg.TLS = config.TLS{Listen: "127.0.0.1:0", CertFile: cf, KeyFile: kf, Reload: config.Duration(time.Minute), MinVersion: "1.2", OCSPStapling: true}
	n := startServe(t, cfg)
	// A request, so that the per-verdict and per-result series exist.
	if st := status(t, "http://"+n.Edge.Addr+"/vod/m1/master.m3u8"); st != 401 {
		t.Fatalf("a request without a token: %d", st)
	}
	var missing []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		have := exported(t, "http://"+n.Edge.AdminAddr+"/metrics")
		missing = missing[:0]
		for m := range want {
			if !have[m] {
				missing = append(missing, m)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("deploy/ queries metrics smd does not export: %v", missing)
	}
}

// exported returns the metric names a /metrics page holds, histograms'
// _bucket, _sum and _count series included.
func exported(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	have := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		name, _, _ = strings.Cut(name, "{")
		have[name] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				have[base] = true
			}
		}
	}
	return have
}
