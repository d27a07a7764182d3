package bench

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// SVG draws the report as a bar chart: one bar per scenario with a raw
// counterpart and a goal, its length Warren's figure as a share of raw's (for
// figures where lower is better, raw's as a share of Warren's, so that a
// longer bar is always better), a line at raw (1.0) and a tick at the
// goal. docs/benchmarks.svg is drawn by it (warren bench --svg).
func SVG(w io.Writer, rep Report) error {
	var rows []Scenario
	for _, s := range rep.Scenarios {
		if s.Raw != 0 && s.Warren != 0 && s.GoalOn == "ratio" && !s.Informational() {
			rows = append(rows, s)
		}
	}
	const (
		left, barMax, rowH, top = 330, 360, 28, 40
		scale                   = 1.5 // the bar's full length is 1.5× raw
	)
	height := top + rowH*len(rows) + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", left+barMax+90, height)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14">Warren against raw amqp091-go, broker %s (%d rounds, medians; longer is better)</text>`+"\n",
		html.EscapeString(rep.Broker), rep.Rounds)
	x1 := left + int(barMax/scale)
	for i, s := range rows {
		y := top + i*rowH
		better := s.Ratio
		goal := s.Goal
		if !s.HigherIsBetter {
			better, goal = 1/s.Ratio, 1/s.Goal
		}
		l := int(float64(barMax) * min(better, scale) / scale)
		color := "#c0392b"
		if s.Met() {
			color = "#27ae60"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+16, html.EscapeString(s.Name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="18" fill="%s"/>`+"\n", left, y+3, l, color)
		gx := left + int(float64(barMax)*min(goal, scale)/scale)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333" stroke-dasharray="3,2"/>`+"\n", gx, y, gx, y+24)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%.2f× raw</text>`+"\n", left+l+6, y+16, better)
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>`+"\n", x1, top-6, x1, top+rowH*len(rows))
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">raw = 1.0 (dashed: goal)</text>`+"\n", x1, top+rowH*len(rows)+18)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
