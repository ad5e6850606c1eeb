package detect

// smdeScorer is the formula of SMDE's automatic session revocation,
// re-expressed from its Athena query. References are to
// github.com/aws-solutions/secure-media-delivery-at-the-edge-on-aws at
// v1.2.6 (commit 1e17e14):
//
//   - source/lambda/prepare_query/index.js, generateAthenaQuery, builds the
//     query. Q1 keeps log lines with status IN (200, 206) AND bytes > 1024
//     (our min_bytes; Observe applies it). Q2 groups the lines of the last
//     lookback_period minutes by session: request_cnt =
//     COUNT(DISTINCT(viewer_ip, uri)), time_range = date_diff('second',
//     MIN(time), MAX(time)), referer_cnt, IP_cnt and UA_cnt = COUNT(DISTINCT
//     ...). Q3 keeps sessions only when (SELECT COUNT(*) FROM Q2) >=
//     min_sessions_number AND time_range >= min_session_duration, and
//     computes ip_rate = ip_rate * (request_cnt / time_range) /
//     approx_percentile(request_cnt / time_range, 0.50) over Q2, and
//     IF(IP_cnt > 1, ip_penalty, 0), IF(referer_cnt > 1, referer_penalty,
//     0), IF(UA_cnt > 1, ua_penalty, 0). The final SELECT sums the four
//     and keeps sessions whose score > score_threshold.
//   - source/bin/wizard/lib/auto-session-revocation-module.ts holds the
//     defaults: lookback_period 10 (minutes), min_sessions_number 3,
//     min_session_duration 30 (seconds), score_threshold 2.2, and the four
//     weights as true (1) / false (0); source/test/
//     auto_revocation_workflow.test.ts configures all four as 1.
//   - source/lambda/export_params/index.js means to refuse a
//     score_threshold of 1 or less (Config.Validate does).
//   - source/lib/autorevocation/auto_revocation_workflow.ts gives
//     save_auto_session a TTL of 7 (days); source/lambda/save_auto_session/
//     index.js stores type AUTO with the score and its four terms (our
//     revoke_ttl, and the Features of the revocation).
//
// Where smd differs, and why:
//   - The median: SMDE's approx_percentile is approximate; ours is the
//     exact lower median. Sessions whose time_range is 0 are left out of
//     it: SMDE divides by time_range there, which Athena answers with an
//     infinity or a failed query.
//   - time_range counts whole seconds between the first and last
//     request's second, as date_diff does on CloudFront's one-second
//     timestamps.
//   - The window is kept in 32 buckets (between 31/32 of the lookback and
//     all of it), and a session remembers its last 32 distinct (IP, URI)
//     pairs, so a pair repeated after 32 others counts again (see
//     session.go).
//   - The median, and min_sessions_number, are over the sessions this
//     detector sees: with several control planes, its share of the
//     partitions, a random sample by session hash.
//   - SMDE's cr_load_athena_config_table.ts stores the configured ip_rate
//     as ip_penalty and the reverse; with the defaults (both 1) that makes
//     no difference, and smd reads each under its own name.
type smdeScorer struct{ cfg *SMDEConfig }

func (s *smdeScorer) name() string       { return ScorerSMDE }
func (s *smdeScorer) threshold() float64 { return s.cfg.ScoreThreshold }

// smdeTerms are the four terms of SMDE's score.
type smdeTerms struct {
	ipRate, ipPenalty, refererPenalty, uaPenalty float64
}

func (t smdeTerms) sum() float64 { return t.ipRate + t.ipPenalty + t.refererPenalty + t.uaPenalty }

// terms returns the terms of f's score; false when SMDE's Q3 leaves the
// session out (too few sessions, or too short).
func (s *smdeScorer) terms(f *features, p *population) (smdeTerms, bool) {
	var t smdeTerms
	if p.sessions < s.cfg.MinSessions || float64(f.timeRange) < s.cfg.MinSessionDuration.D().Seconds() || f.timeRange <= 0 {
		return t, false
	}
	if p.medianRate > 0 {
		t.ipRate = s.cfg.IPRate * (float64(f.requests) / float64(f.timeRange)) / p.medianRate
	}
	if f.ips > 1 {
		t.ipPenalty = s.cfg.IPPenalty
	}
	if f.refs > 1 {
		t.refererPenalty = s.cfg.RefererPenalty
	}
	if f.uas > 1 {
		t.uaPenalty = s.cfg.UAPenalty
	}
	return t, true
}

func (s *smdeScorer) score(f *features, p *population) (float64, bool) {
	t, ok := s.terms(f, p)
	if !ok {
		return 0, false
	}
	sc := t.sum()
	return sc, sc > s.cfg.ScoreThreshold
}

func (s *smdeScorer) explain(f *features, p *population) map[string]float64 {
	t, _ := s.terms(f, p)
	return map[string]float64{
		"requests":        float64(f.requests),
		"time_range_s":    float64(f.timeRange),
		"ips":             float64(f.ips),
		"referers":        float64(f.refs),
		"user_agents":     float64(f.uas),
		"sessions":        float64(p.sessions),
		"median_rate":     p.medianRate,
		"ip_rate":         t.ipRate,
		"ip_penalty":      t.ipPenalty,
		"referer_penalty": t.refererPenalty,
		"ua_penalty":      t.uaPenalty,
	}
}
