package simulate

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText writes the report as a table for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scorer %s: %s against %s, asset %s, seed %d", r.Scorer, seconds(r.Seconds), r.Edge, r.Asset, r.Seed)
	if r.Interrupted {
		b.WriteString(" (interrupted)")
	}
	b.WriteString("\n\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tsessions\tdevices\tblocked\trequests\tsegments\tseg/s/device\tblock median\tblock p95\trevoke p95\t")
	for _, k := range r.Kinds {
		med, p95 := medP95(k.TimeToBlock)
		_, rp95 := medP95(k.TimeToRevoke)
		if k.JudgedBy == "time_to_revoke" {
			rp95 += "*"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.2f\t%s\t%s\t%s\t\n",
			k.Kind, k.Sessions, k.Devices, k.Blocked, k.Requests, k.Segments, k.SegmentsPerSecond, med, p95, rp95)
	}
	tw.Flush()
	for _, k := range r.Kinds {
		if k.JudgedBy == "time_to_revoke" {
			b.WriteString("* judged by the time to revoke: its devices ask less often than the target's time, and no edge\n" +
				"  refuses a request before it is made (each is refused from its next one)\n")
			break
		}
	}
	b.WriteString("\n")

	fmt.Fprintf(&b, "precision %s  recall %s  (%d of %d abusive sessions blocked, %d of %d legitimate)\n",
		ratio(r.Precision), ratio(r.Recall), r.AbusiveBlocked, r.Abusive, r.LegitBlocked, r.Legit)
	fmt.Fprintf(&b, "tokens shared to %d+ IPs blocked: %d of %d\n", TargetShareIPs, r.Shared3Blocked, r.Shared3)
	fmt.Fprintf(&b, "time to block (edge):   %s\n", latency(r.TimeToBlock))
	if r.Revocations.Checked {
		fmt.Fprintf(&b, "time to revoke (API):   %s\n", latency(r.TimeToRevoke))
		rv := &r.Revocations
		fmt.Fprintf(&b, "revocations (API):      %d auto", rv.Auto)
		if rv.Auto > 0 {
			fmt.Fprintf(&b, " (score %.4g to %.4g)", rv.ScoreMin, rv.ScoreMax)
		}
		fmt.Fprintf(&b, ", %d manual", rv.Manual)
		if rv.Other > 0 {
			fmt.Fprintf(&b, ", %d other", rv.Other)
		}
		if rv.NotBlocked > 0 {
			fmt.Fprintf(&b, "; %d revoked but never answered blocked", rv.NotBlocked)
		}
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "revocations (API):      not read: %s\n", r.Revocations.Note)
	}
	codes := make([]string, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	fmt.Fprintf(&b, "requests %d:", r.Requests)
	for _, c := range codes {
		fmt.Fprintf(&b, " %s %d", c, r.Status[c])
	}
	b.WriteString("\n")
	if r.Problems > 0 {
		for _, sess := range r.Sessions {
			if sess.Problem != "" {
				fmt.Fprintf(&b, "%d sessions stopped early on an error, e.g. %s (%s): %s\n", r.Problems, sess.ID, sess.Kind, sess.Problem)
				break
			}
		}
	}
	r.writeScorers(&b)
	b.WriteString("\ntargets\n")
	for _, t := range r.Targets {
		mark := "ok  "
		if !t.Met {
			mark = "MISS"
		}
		fmt.Fprintf(&b, "  %s  %s (%s)\n", mark, t.Name, t.Detail)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeScorers writes the per-scorer table, or why there is none.
func (r *Report) writeScorers(b *strings.Builder) {
	if len(r.Scorers) == 0 {
		if r.ScorersNote != "" {
			fmt.Fprintf(b, "\n%s\n", wrap("per scorer: not measured: "+r.ScorersNote, 100))
		}
		return
	}
	b.WriteString("\nper scorer: sessions flagged by the scorer's decisions while viewers played, of them legit\n" +
		"(legitimate sessions) and shared 3+ (tokens shared to 3+ IPs); time to flag from a session's first\n" +
		"request to the scorer's first decision, time to block to the edge's first blocked answer (active\n" +
		"scorer only); both over abusive sessions\n\n")
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scorer\trole\tflagged\tdecisions\tprecision\trecall\tlegit\tshared 3+\tflag median\tflag p95\tblock median\tblock p95\t")
	for _, st := range r.Scorers {
		fmed, fp95 := medP95(st.TimeToFlag)
		bmed, bp95 := "-", "-"
		if st.TimeToBlock != nil {
			bmed, bp95 = medP95(*st.TimeToBlock)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%d of %d\t%d of %d\t%s\t%s\t%s\t%s\t\n",
			st.Scorer, st.Role, st.Flagged, st.Decisions, ratio(st.Precision), ratio(st.Recall),
			st.LegitFlagged, r.Legit, st.Shared3Flagged, r.Shared3, fmed, fp95, bmed, bp95)
	}
	tw.Flush()
	// Per kind: what each scorer flagged of it (for an abusive kind its
	// recall, for a legitimate one its false positives) and how fast.
	b.WriteString("\nflagged per kind and scorer (sessions flagged of the kind; p95 time to flag, abusive kinds)\n\n")
	tw = tabwriter.NewWriter(b, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "kind\t")
	for _, st := range r.Scorers {
		fmt.Fprintf(tw, "%s\t", st.Scorer)
	}
	fmt.Fprintln(tw)
	for _, k := range r.Kinds {
		fmt.Fprintf(tw, "%s\t", k.Kind)
		for _, st := range r.Scorers {
			kf := st.Kinds[k.Kind]
			cell := fmt.Sprintf("%d of %d", kf.Flagged, kf.Sessions)
			if _, p95 := medP95(kf.TimeToFlag); kf.TimeToFlag.N > 0 {
				cell += ", " + p95
			}
			fmt.Fprintf(tw, "%s\t", cell)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// wrap breaks s into lines of at most width characters, between words.
func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		switch {
		case i == 0:
		case n+1+len(w) > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// medP95 formats a Latency's median and p95, "-" for none.
func medP95(l Latency) (string, string) {
	if l.N == 0 {
		return "-", "-"
	}
	return seconds(l.MedianS), seconds(l.P95S)
}

// ratio formats a precision or recall, "n/a" for none.
func ratio(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}

// latency formats a Latency.
func latency(l Latency) string {
	if l.N == 0 {
		return "none"
	}
	return fmt.Sprintf("median %s, p95 %s, max %s (%d sessions)", seconds(l.MedianS), seconds(l.P95S), seconds(l.MaxS), l.N)
}
