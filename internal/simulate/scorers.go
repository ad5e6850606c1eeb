package simulate

import "time"

// noScorersNote is the report's word when it has no per-scorer table.
const noScorersNote = "the stack is external, and its detector's decisions are not visible here, only the edge's " +
	"answers and the API's revocations (smd simulate --serve runs a stack of its own and reports every scorer)"

// ScorerStats is one scorer of the stack's detector in a report: what it
// flagged while viewers played. A session is flagged by a scorer when the
// scorer made a decision about it (whatever the decision's outcome: a
// shadow scorer's decisions revoke nothing). Precision, recall, legitimate
// and shared-to-3+ counts read as the report's, with flagged in place of
// blocked.
type ScorerStats struct {
	Scorer string `json:"scorer"`
	// Role is active, dry-run (the active scorer with dry_run on) or
	// shadow.
	Role string `json:"role"`
	// Decisions counts the scorer's decisions about the run's sessions
	// while viewers played: one per session, or more when the score fell
	// under the threshold and rose again. AfterPlay counts those that
	// came after the play ended, which count nowhere else.
	Decisions int `json:"decisions"`
	AfterPlay int `json:"decisions_after_play,omitempty"`
	// Flagged counts the sessions it flagged, of which AbusiveFlagged
	// abusive and LegitFlagged legitimate; Shared3Flagged the tokens
	// shared to 3 or more addresses among them.
	Flagged        int `json:"flagged"`
	AbusiveFlagged int `json:"abusive_flagged"`
	LegitFlagged   int `json:"legit_flagged"`
	Shared3Flagged int `json:"shared_3plus_flagged"`
	// Precision is AbusiveFlagged / Flagged (nil when nothing was
	// flagged), Recall AbusiveFlagged / the report's Abusive (nil when no
	// session was abusive).
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
	// TimeToFlag is over the flagged abusive sessions: from a session's
	// first request to the scorer's first decision about it, on the
	// detector's clock (the same machine's).
	TimeToFlag Latency `json:"time_to_flag"`
	// TimeToBlock is the active scorer's time to block as the edge showed
	// it (the report's time_to_block); absent for the others.
	TimeToBlock *Latency `json:"time_to_block,omitempty"`
	// Kinds has, per kind present, the sessions it flagged and, for an
	// abusive kind, the time to flag them: precision and recall per
	// scenario.
	Kinds map[Kind]KindFlags `json:"kinds"`
}

// KindFlags is what one scorer flagged of one kind.
type KindFlags struct {
	Sessions   int     `json:"sessions"`
	Flagged    int     `json:"flagged"`
	TimeToFlag Latency `json:"time_to_flag"`
}

// Flag is a scorer's first decision about a session while it played.
type Flag struct {
	Scorer string    `json:"scorer"`
	At     time.Time `json:"at"`
	// TimeToFlagS is the seconds from the session's first request to At.
	TimeToFlagS float64 `json:"time_to_flag_s"`
	Score       float64 `json:"score"`
	Outcome     string  `json:"outcome"`
	// Decisions counts the scorer's decisions about the session while it
	// played.
	Decisions int `json:"decisions"`
}

// scorerStats fills the per-scorer table and the sessions' flags from the
// detector's decisions up to end, the end of play. sessions are the run's,
// in the order of r.Sessions. Decisions about other sessions are left out.
func (r *Report) scorerStats(log *DecisionLog, sessions []*session, end time.Time) {
	index := make(map[string]int, len(sessions))
	first := make([]time.Time, len(sessions))
	for i, sess := range sessions {
		index[sess.id] = i
		sess.mu.Lock()
		first[i] = sess.first
		sess.mu.Unlock()
	}
	roles := log.Scorers()
	row := map[string]int{}
	for i, sc := range roles {
		row[sc.Name] = i
	}
	decs := log.Decisions()
	for _, d := range decs {
		if _, ok := row[d.Scorer]; !ok {
			// Not named in the configuration: cannot happen with a
			// detector's own decisions, but keep what was seen.
			role := RoleShadow
			if d.Active {
				role = RoleActive
			}
			row[d.Scorer] = len(roles)
			roles = append(roles, ScorerRole{Name: d.Scorer, Role: role})
		}
	}
	stats := make([]ScorerStats, len(roles))
	for i, sc := range roles {
		stats[i] = ScorerStats{Scorer: sc.Name, Role: sc.Role}
	}
	// flags[i][scorer row] is session i's flag by that scorer.
	flags := make([]map[int]*Flag, len(sessions))
	for _, d := range decs {
		i, ok := index[d.SessionID]
		if !ok {
			continue
		}
		st := &stats[row[d.Scorer]]
		if d.Time.After(end) {
			st.AfterPlay++
			continue
		}
		st.Decisions++
		if flags[i] == nil {
			flags[i] = map[int]*Flag{}
		}
		f := flags[i][row[d.Scorer]]
		if f == nil || d.Time.Before(f.At) {
			n := 0
			if f != nil {
				n = f.Decisions
			}
			f = &Flag{Scorer: d.Scorer, At: d.Time, Score: d.Score, Outcome: d.Outcome, Decisions: n}
			if !first[i].IsZero() {
				f.TimeToFlagS = round(max(d.Time.Sub(first[i]), 0).Seconds(), 3)
			}
			flags[i][row[d.Scorer]] = f
		}
		f.Decisions++
	}
	ttf := make([][]time.Duration, len(stats))
	kindTTF := make([]map[Kind][]time.Duration, len(stats))
	for si := range stats {
		stats[si].Kinds = map[Kind]KindFlags{}
		kindTTF[si] = map[Kind][]time.Duration{}
	}
	for i := range r.Sessions {
		res := &r.Sessions[i]
		for si := range stats {
			kf := stats[si].Kinds[res.Kind]
			kf.Sessions++
			f := flags[i][si]
			if f != nil {
				kf.Flagged++
				if res.Abusive && !first[i].IsZero() {
					kindTTF[si][res.Kind] = append(kindTTF[si][res.Kind], max(f.At.Sub(first[i]), 0))
				}
			}
			stats[si].Kinds[res.Kind] = kf
			if f == nil {
				continue
			}
			st := &stats[si]
			st.Flagged++
			switch {
			case res.Abusive:
				st.AbusiveFlagged++
				if res.Kind == KindShared && len(res.Devices) >= TargetShareIPs {
					st.Shared3Flagged++
				}
				if !first[i].IsZero() {
					ttf[si] = append(ttf[si], max(f.At.Sub(first[i]), 0))
				}
			default:
				st.LegitFlagged++
			}
			at := *f
			at.At = at.At.UTC()
			res.Flags = append(res.Flags, at)
		}
	}
	for si := range stats {
		st := &stats[si]
		if st.Flagged > 0 {
			p := round(float64(st.AbusiveFlagged)/float64(st.Flagged), 4)
			st.Precision = &p
		}
		if r.Abusive > 0 {
			rc := round(float64(st.AbusiveFlagged)/float64(r.Abusive), 4)
			st.Recall = &rc
		}
		st.TimeToFlag = summarize(ttf[si])
		for k, d := range kindTTF[si] {
			kf := st.Kinds[k]
			kf.TimeToFlag = summarize(d)
			st.Kinds[k] = kf
		}
		if st.Role == RoleActive {
			ttb := r.TimeToBlock
			st.TimeToBlock = &ttb
		}
	}
	r.Scorers = stats
}
