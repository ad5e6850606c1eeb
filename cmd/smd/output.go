package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/smd-media/smd/internal/strictjson"
)

// table writes rows aligned in columns, every cell made printable.
func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, printableRow(r))
	}
	return tw.Flush()
}

// printableRow joins the cells of a row with tabs, each made printable.
func printableRow(cells []string) string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = printable(c)
	}
	return strings.Join(out, "\t")
}

// printable escapes what a terminal would act on rather than show: control
// characters (C0 with tab and newline, DEL, C1), bidirectional controls and
// invalid UTF-8 become \xNN or \uNNNN, so that text stored by someone else
// (a revocation reason) cannot move the cursor, recolour or rewrite the
// operator's screen. A backslash is doubled when anything is escaped.
func printable(s string) string {
	clean := utf8.ValidString(s)
	for _, r := range s {
		if strictjson.Unprintable(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case strictjson.Unprintable(r) && r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		case strictjson.Unprintable(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
		i += n
	}
	return b.String()
}
