package simulate

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/smd-media/smd/internal/control"
)

// Targets of issue 5.
const (
	// TargetTimeToBlock is the most the p95 time to block of each
	// abusive kind may be.
	TargetTimeToBlock = 10 * time.Second
	// TargetShareIPs: every token shared to this many addresses or more
	// must be blocked.
	TargetShareIPs = 3
)

// Report is what a run measured, for one scorer. A session is blocked when
// the edge answered it the blocked status; its time to block runs from its
// first abusive request (its first request: shared tokens and restreamers
// abuse from the start) to that answer.
type Report struct {
	// Scorer is the scorer label given.
	Scorer string `json:"scorer"`
	// Edge, Asset and Seed say what ran; Started when, Seconds how long.
	Edge        string    `json:"edge"`
	Asset       string    `json:"asset"`
	Seed        int64     `json:"seed"`
	Started     time.Time `json:"started"`
	Seconds     float64   `json:"duration_s"`
	Interrupted bool      `json:"interrupted,omitempty"`

	// Kinds has one row per session kind present.
	Kinds []KindStats `json:"kinds"`

	// Precision is the share of blocked sessions that were abusive; nil
	// when none was blocked. Recall is the share of abusive sessions that
	// were blocked; nil when there was none.
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
	// Abusive and AbusiveBlocked count abusive sessions (shared tokens and
	// restreamers) and those blocked; Legit and LegitBlocked the
	// legitimate ones.
	Abusive        int `json:"abusive"`
	AbusiveBlocked int `json:"abusive_blocked"`
	Legit          int `json:"legit"`
	LegitBlocked   int `json:"legit_blocked"`
	// Shared3 counts tokens shared to 3 or more addresses, Shared3Blocked
	// those blocked.
	Shared3        int `json:"shared_3plus"`
	Shared3Blocked int `json:"shared_3plus_blocked"`
	// Impersonators counts impersonators; ImpersonationRevocations the
	// revocations they caused: of their victims, or of themselves (the
	// API says revoked, or the edge answered them blocked).
	Impersonators            int `json:"impersonators"`
	ImpersonationRevocations int `json:"impersonation_revocations"`

	// TimeToBlock is over blocked abusive sessions, as the edge's answers
	// show it: it includes the detector's delay, the revocation's way to
	// the edge and the wait for the session's next request.
	TimeToBlock Latency `json:"time_to_block"`
	// TimeToRevoke is over abusive sessions the API says are revoked:
	// from the first abusive request to the revocation's revoked_at (the
	// control plane's clock).
	TimeToRevoke Latency `json:"time_to_revoke"`

	// Requests counts the requests sent; Status the answers by status
	// ("error": none, a transport error).
	Requests int            `json:"requests"`
	Status   map[string]int `json:"status"`
	// Problems counts sessions a device of which stopped early on an
	// error (see each session's problem).
	Problems int `json:"problems,omitempty"`

	// Revocations summarizes the sessions' revocations read back.
	Revocations RevocationStats `json:"revocations"`

	// Scorers has one row per scorer of the stack's detector, active and
	// shadow, from its decisions while viewers played: only when the
	// simulator watched them (Config.Decisions, the stack of --serve).
	// ScorersNote says why the table is absent otherwise.
	Scorers     []ScorerStats `json:"scorers,omitempty"`
	ScorersNote string        `json:"scorers_note,omitempty"`

	// Targets are issue 5's targets, each met or not.
	Targets []Target `json:"targets"`

	// Sessions has one entry per session.
	Sessions []SessionResult `json:"sessions"`
}

// KindStats is one kind of session in a report.
type KindStats struct {
	Kind Kind `json:"kind"`
	// Sessions and Devices count them and the identities that played.
	Sessions int `json:"sessions"`
	Devices  int `json:"devices"`
	Blocked  int `json:"blocked"`
	Requests int `json:"requests"`
	Segments int `json:"segments"`
	// SegmentsPerSecond is the rate of segments answered 2xx per device
	// while its session played.
	SegmentsPerSecond float64 `json:"segments_per_s_per_device"`
	TimeToBlock       Latency `json:"time_to_block"`
	// TimeToRevoke is over its sessions the API says are revoked.
	TimeToRevoke Latency `json:"time_to_revoke"`
	// JudgedBy says which of the two the target of the p95 judges:
	// "time_to_block", or "time_to_revoke" for a kind whose devices ask
	// less often than the target's time (wide tokens asking every 30 s),
	// which no edge can refuse before they ask again (and revocations were
	// read). Abusive kinds only.
	JudgedBy string `json:"judged_by,omitempty"`
}

// RevocationStats summarizes the revocations read through the API.
type RevocationStats struct {
	// Checked says whether they could be read; Note why not.
	Checked bool   `json:"checked"`
	Note    string `json:"note,omitempty"`
	// Auto and Manual count revoked sessions by type, Other the rest.
	Auto   int `json:"auto"`
	Manual int `json:"manual"`
	Other  int `json:"other"`
	// ScoreMin and ScoreMax span the scores of auto revocations.
	ScoreMin float64 `json:"score_min,omitempty"`
	ScoreMax float64 `json:"score_max,omitempty"`
	// NotBlocked counts sessions the API says are revoked that the edge
	// never answered blocked (revoked after their last request, or a
	// revocation that did not reach the edge).
	NotBlocked int `json:"revoked_not_blocked"`
}

// Target is one target and whether the run met it.
type Target struct {
	Name   string `json:"name"`
	Met    bool   `json:"met"`
	Detail string `json:"detail"`
}

// SessionResult is one session in a report.
type SessionResult struct {
	SessionInfo
	Abusive bool `json:"abusive"`
	// Victim is the session whose id an impersonator wrote.
	Victim string `json:"victim,omitempty"`
	// First and Last are its first request and last answer.
	First time.Time `json:"first_request,omitzero"`
	Last  time.Time `json:"last_answer,omitzero"`
	// BlockedAt is its first blocked answer; TimeToBlockS the seconds
	// from its first abusive request (abusive sessions only).
	Blocked      bool      `json:"blocked"`
	BlockedAt    time.Time `json:"blocked_at,omitzero"`
	TimeToBlockS *float64  `json:"time_to_block_s,omitempty"`
	Requests     int       `json:"requests"`
	Segments     int       `json:"segments"`
	Bytes        int64     `json:"bytes"`
	// Status counts answers by status, "error" for none.
	Status map[string]int `json:"status"`
	// Revocation is the API's, when the session is revoked.
	Revocation *control.Revocation `json:"revocation,omitempty"`
	// Flags are the scorers that flagged the session while it played,
	// when the report has a per-scorer table.
	Flags []Flag `json:"flags,omitempty"`
	// Problem is an error that stopped one of its devices early (a
	// playlist it could not read), if any.
	Problem string `json:"problem,omitempty"`
}

// TargetsMet reports whether the run met every target.
func (r *Report) TargetsMet() bool {
	for _, t := range r.Targets {
		if !t.Met {
			return false
		}
	}
	return true
}

// report builds the report of a run.
func (s *Simulation) report(start, end time.Time, revs revocations) *Report {
	r := &Report{
		Scorer:  s.cfg.ScorerLabel,
		Edge:    s.cfg.Edge,
		Asset:   s.asset,
		Seed:    s.cfg.Seed,
		Started: start.UTC(),
		Seconds: round(end.Sub(start).Seconds(), 3),
		Status:  map[string]int{},
		Revocations: RevocationStats{
			Checked: revs.note == "",
			Note:    revs.note,
		},
	}
	kinds := map[Kind]*KindStats{}
	kindTTB := map[Kind][]time.Duration{}
	kindTTR := map[Kind][]time.Duration{}
	kindDeviceSeconds := map[Kind]float64{}
	var ttb, ttr []time.Duration
	for i, sess := range s.sessions {
		sess.mu.Lock()
		res := SessionResult{
			SessionInfo: SessionInfo{ID: sess.id, Kind: sess.kind, Devices: sess.devices, Start: s.offsets[i]},
			Abusive:     sess.kind.Abusive(),
			Victim:      sess.victim,
			First:       sess.first.UTC(),
			Last:        sess.last.UTC(),
			Blocked:     !sess.blocked.IsZero(),
			Requests:    sess.requests,
			Segments:    sess.segments,
			Bytes:       sess.bytes,
			Status:      map[string]int{},
			Problem:     sess.problem,
		}
		if res.Problem != "" {
			r.Problems++
		}
		if sess.first.IsZero() {
			res.First, res.Last = time.Time{}, time.Time{}
		}
		for code, n := range sess.status {
			res.Status[strconv.Itoa(code)] += n
		}
		if sess.errors > 0 {
			res.Status["error"] = sess.errors
		}
		active := sess.last.Sub(sess.first).Seconds()
		first, blocked := sess.first, sess.blocked
		sess.mu.Unlock()

		k := kinds[res.Kind]
		if k == nil {
			k = &KindStats{Kind: res.Kind}
			kinds[res.Kind] = k
		}
		k.Sessions++
		k.Devices += devicesOf(&res)
		k.Requests += res.Requests
		k.Segments += res.Segments
		kindDeviceSeconds[res.Kind] += float64(devicesOf(&res)) * max(active, 0)
		r.Requests += res.Requests
		for code, n := range res.Status {
			r.Status[code] += n
		}
		if res.Blocked {
			res.BlockedAt = blocked.UTC()
			k.Blocked++
		}
		if res.Abusive {
			r.Abusive++
			if res.Kind == KindShared && len(res.Devices) >= TargetShareIPs {
				r.Shared3++
			}
			if res.Blocked {
				d := blocked.Sub(first)
				v := round(d.Seconds(), 3)
				res.TimeToBlockS = &v
				ttb = append(ttb, d)
				kindTTB[res.Kind] = append(kindTTB[res.Kind], d)
				r.AbusiveBlocked++
				if res.Kind == KindShared && len(res.Devices) >= TargetShareIPs {
					r.Shared3Blocked++
				}
			}
		} else if res.Kind == KindImpersonator {
			r.Impersonators++
			_, self := revs.bySession[res.ID]
			_, victim := revs.bySession[res.Victim]
			for _, caused := range []bool{self || res.Blocked, victim} {
				if caused {
					r.ImpersonationRevocations++
				}
			}
		} else {
			r.Legit++
			if res.Blocked {
				r.LegitBlocked++
			}
		}
		if rv, ok := revs.bySession[res.ID]; ok {
			res.Revocation = &rv
			r.Revocations.count(rv)
			if !res.Blocked {
				r.Revocations.NotBlocked++
			}
			if res.Abusive && !first.IsZero() {
				ttr = append(ttr, max(rv.RevokedAt.Sub(first), 0))
				kindTTR[res.Kind] = append(kindTTR[res.Kind], max(rv.RevokedAt.Sub(first), 0))
			}
		}
		r.Sessions = append(r.Sessions, res)
	}
	for _, kind := range Kinds {
		k := kinds[kind]
		if k == nil {
			continue
		}
		if ds := kindDeviceSeconds[kind]; ds > 0 {
			k.SegmentsPerSecond = round(float64(k.Segments)/ds, 3)
		}
		k.TimeToBlock = summarize(kindTTB[kind])
		k.TimeToRevoke = summarize(kindTTR[kind])
		if kind.Abusive() {
			k.JudgedBy = "time_to_block"
			if (kind == KindWide || kind == KindWideIntl) && s.cfg.WideEvery > TargetTimeToBlock && r.Revocations.Checked {
				k.JudgedBy = "time_to_revoke"
			}
		}
		r.Kinds = append(r.Kinds, *k)
	}
	if blocked := r.AbusiveBlocked + r.LegitBlocked; blocked > 0 {
		p := round(float64(r.AbusiveBlocked)/float64(blocked), 4)
		r.Precision = &p
	}
	if r.Abusive > 0 {
		rc := round(float64(r.AbusiveBlocked)/float64(r.Abusive), 4)
		r.Recall = &rc
	}
	r.TimeToBlock = summarize(ttb)
	r.TimeToRevoke = summarize(ttr)
	r.Targets = r.targets()
	if s.cfg.Decisions != nil {
		r.scorerStats(s.cfg.Decisions, s.sessions, end)
	} else {
		r.ScorersNote = noScorersNote
	}
	return r
}

// devicesOf counts the devices of a session: an address change is one
// device with two identities.
func devicesOf(r *SessionResult) int {
	switch r.Kind {
	case KindLegitIPChange, KindCGNAT, KindMobile:
		return 1
	}
	return len(r.Devices)
}

// count adds a revocation to the summary.
func (st *RevocationStats) count(rv control.Revocation) {
	switch rv.Type {
	case "auto":
		if st.Auto == 0 || rv.Score < st.ScoreMin {
			st.ScoreMin = rv.Score
		}
		if st.Auto == 0 || rv.Score > st.ScoreMax {
			st.ScoreMax = rv.Score
		}
		st.Auto++
	case "manual":
		st.Manual++
	default:
		st.Other++
	}
}

// targets checks the targets of issues 5 and 11.
func (r *Report) targets() []Target {
	p95 := Target{
		Name: "p95 time to block <= " + TargetTimeToBlock.String() + " for every abusive kind",
		Met:  true,
	}
	var parts []string
	for _, k := range r.Kinds {
		if !k.Kind.Abusive() {
			continue
		}
		l, what := k.TimeToBlock, ""
		if k.JudgedBy == "time_to_revoke" {
			l, what = k.TimeToRevoke, " to revoke"
		}
		ok := l.N > 0 && l.P95S <= k.Kind.BlockTarget() && l.N == k.Sessions
		p95.Met = p95.Met && ok
		part := string(k.Kind) + " "
		switch {
		case l.N == 0 && what != "":
			part += "none revoked"
		case l.N == 0:
			part += "none blocked"
		default:
			part += seconds(l.P95S) + what
		}
		if !ok {
			part += " (MISS)"
		}
		parts = append(parts, part)
	}
	switch {
	case r.Abusive == 0:
		p95.Detail = "no abusive session"
	default:
		p95.Detail = strings.Join(parts, ", ")
	}
	return []Target{
		{
			Name:   "no legitimate session blocked",
			Met:    r.LegitBlocked == 0,
			Detail: strconv.Itoa(r.LegitBlocked) + " of " + strconv.Itoa(r.Legit) + " blocked",
		},
		{
			Name:   "every abusive session blocked",
			Met:    r.AbusiveBlocked == r.Abusive,
			Detail: strconv.Itoa(r.AbusiveBlocked) + " of " + strconv.Itoa(r.Abusive) + " blocked",
		},
		{
			Name:   "every token shared to " + strconv.Itoa(TargetShareIPs) + " or more IPs blocked",
			Met:    r.Shared3Blocked == r.Shared3,
			Detail: strconv.Itoa(r.Shared3Blocked) + " of " + strconv.Itoa(r.Shared3) + " blocked",
		},
		p95,
		{
			Name:   "impersonation revokes no one",
			Met:    r.ImpersonationRevocations == 0,
			Detail: strconv.Itoa(r.ImpersonationRevocations) + " revocations by " + strconv.Itoa(r.Impersonators) + " impersonators",
		},
	}
}

// round rounds v to n decimals.
func round(v float64, n int) float64 {
	p := math.Pow10(n)
	return math.Round(v*p) / p
}

// seconds formats seconds for people: "3.2 s".
func seconds(v float64) string {
	return strconv.FormatFloat(v, 'f', 1, 64) + " s"
}
