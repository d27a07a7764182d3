package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
)

// addLogFlags adds --log-level and --log-format to a command that logs.
func addLogFlags(cmd *cobra.Command) { addLogFlagsAt(cmd, "info") }

// addLogFlagsAt is addLogFlags with another default level.
func addLogFlagsAt(cmd *cobra.Command, level string) {
	cmd.Flags().String("log-level", level, "log `LEVEL`: debug, info, warn or error")
	cmd.Flags().String("log-format", "text", "log `FORMAT`: text or json")
}

// logger builds the logger of cmd's flags, writing to stderr.
func (a *app) logger(cmd *cobra.Command) (*slog.Logger, error) {
	level, _ := cmd.Flags().GetString("log-level")
	format, _ := cmd.Flags().GetString("log-format")
	var l slog.Level
	switch level {
	case "debug":
		l = slog.LevelDebug
	case "info":
		l = slog.LevelInfo
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		return nil, &usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(a.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(a.stderr, opts)), nil
	}
	return nil, &usageError{fmt.Errorf("--log-format %q: want text or json", format)}
}
