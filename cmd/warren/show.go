package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// addShowFlags adds the flags of the commands that print one admin API
// answer: --admin, --json and --watch.
func addShowFlags(cmd *cobra.Command) {
	addAdminFlag(cmd, "`ADDR` of the admin API that 'warren run' serves")
	cmd.Flags().Bool("json", false, "print the admin API's JSON answer as it is")
	cmd.Flags().BoolP("watch", "w", false, "print it again every --interval until interrupted")
	cmd.Flags().Duration("interval", 2*time.Second, "how often --watch prints")
}

// show reads GET path into v and prints it: as the API's JSON with --json,
// else through render. With --watch it does so again every --interval until
// SIGINT or SIGTERM, clearing a terminal between two prints.
func (a *app) show(cmd *cobra.Command, path string, v any, render func(io.Writer, palette) error) error {
	return a.showAs(cmd, path, v, render, nil)
}

// showRows is show for a listing that takes an optional item name (args):
// with one, the table holds that item and --json prints its object alone,
// as kubectl get KIND NAME -o json does.
func showRows[T any](a *app, cmd *cobra.Command, path string, args []string, what string, name func(T) string,
	render func(io.Writer, []T, palette) error) error {
	var rows []T
	pick := func() ([]T, error) { return only(rows, args, what, name) }
	var asJSON func(io.Writer) error
	if len(args) > 0 {
		asJSON = func(w io.Writer) error {
			one, err := pick()
			if err != nil {
				return err
			}
			body, err := json.MarshalIndent(one[0], "", "  ")
			if err != nil {
				return err
			}
			return printJSON(w, body)
		}
	}
	return a.showAs(cmd, path, &rows, func(w io.Writer, p palette) error {
		picked, err := pick()
		if err != nil {
			return err
		}
		return render(w, picked, p)
	}, asJSON)
}

// showAs is show with its own --json printer (nil: the API's answer as it is).
func (a *app) showAs(cmd *cobra.Command, path string, v any, render func(io.Writer, palette) error, asJSON func(io.Writer) error) error {
	c, err := a.adminClient(cmd)
	if err != nil {
		return err
	}
	watch, _ := cmd.Flags().GetBool("watch")
	interval, _ := cmd.Flags().GetDuration("interval")
	if watch && interval <= 0 {
		return &usageError{fmt.Errorf("--interval %v: need a positive duration", interval)}
	}
	once := func(ctx context.Context) error {
		body, err := c.getJSON(ctx, path, v)
		if err != nil {
			return err
		}
		if wantJSON, _ := cmd.Flags().GetBool("json"); wantJSON {
			if asJSON != nil {
				return asJSON(a.stdout)
			}
			return printJSON(a.stdout, body)
		}
		return render(a.stdout, a.palette(a.stdout))
	}
	if !watch {
		return once(cmd.Context())
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if a.isTTY(a.stdout) {
			fmt.Fprint(a.stdout, "\x1b[H\x1b[2J") // home, clear
		}
		if err := once(ctx); err != nil && ctx.Err() == nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if !a.isTTY(a.stdout) {
				fmt.Fprintln(a.stdout)
			}
		}
	}
}

// atMostOne accepts one optional positional argument: the item to show.
func atMostOne(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return &usageError{fmt.Errorf("%s takes at most one name, got %d", cmd.CommandPath(), len(args))}
	}
	return nil
}

// only keeps the row named args[0] (all rows without an argument); a name
// no row has is an error listing the names there are.
func only[T any](rows []T, args []string, what string, name func(T) string) ([]T, error) {
	if len(args) == 0 {
		return rows, nil
	}
	var known []string
	for _, r := range rows {
		if name(r) == args[0] {
			return []T{r}, nil
		}
		known = append(known, name(r))
	}
	if len(known) == 0 {
		return nil, fmt.Errorf("no %s %q: there are no %ss", what, args[0], what)
	}
	return nil, fmt.Errorf("no %s %q (there are: %s)", what, args[0], strings.Join(known, ", "))
}
