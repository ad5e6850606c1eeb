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
	fmt.Fprintln(tw, "kind\tsessions\tdevices\tblocked\trequests\tsegments\tseg/s/device\tblock median\tblock p95\t")
	for _, k := range r.Kinds {
		med, p95 := "-", "-"
		if k.TimeToBlock.N > 0 {
			med, p95 = seconds(k.TimeToBlock.MedianS), seconds(k.TimeToBlock.P95S)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.2f\t%s\t%s\t\n",
			k.Kind, k.Sessions, k.Devices, k.Blocked, k.Requests, k.Segments, k.SegmentsPerSecond, med, p95)
	}
	tw.Flush()
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
			fmt.Fprintf(&b, " (score %g to %g)", rv.ScoreMin, rv.ScoreMax)
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
