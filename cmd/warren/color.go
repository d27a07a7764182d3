package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

// sgr is an ANSI colour code. Every code is two digits, so every painted
// cell grows by the same number of bytes and tabwriter columns stay aligned.
type sgr string

const (
	green   sgr = "32"
	yellow  sgr = "33"
	red     sgr = "31"
	noColor sgr = "39" // the terminal's default colour, for header cells
)

// palette paints text when colour is on.
type palette struct{ on bool }

func (p palette) paint(s string, c sgr) string {
	if !p.on {
		return s
	}
	return "\x1b[" + string(c) + "m" + s + "\x1b[0m"
}

// palette returns the palette for w: colour only on a terminal, and never
// when NO_COLOR is set (https://no-color.org) or TERM is dumb.
func (a *app) palette(w io.Writer) palette {
	return palette{on: a.getenv("NO_COLOR") == "" && a.getenv("TERM") != "dumb" && a.isTTY(w)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
