package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time (-ldflags "-X main.version=v1.2.3"); when
// empty, the module version or VCS revision the binary was built from is
// used.
var version string

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print warren's version, its Go version and the libraries it was built with",
		Example: "  warren version\n  warren --version",
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprint(a.stdout, versionText())
			return err
		},
	}
}

// versionLine is warren's version on one line, for --version.
func versionLine() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if (v == "" || v == "(devel)") && rev != "" {
		v = "devel " + rev[:min(12, len(rev))] + modified
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}

// versionText is the long form: warren, Go, and the AMQP and actor libraries.
func versionText() string {
	out := "warren " + versionLine() + "\n"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	out += "go " + info.GoVersion + "\n"
	for _, d := range info.Deps {
		switch d.Path {
		case "github.com/rabbitmq/amqp091-go", "github.com/asynkron/protoactor-go", "github.com/hashicorp/go-memdb":
			out += d.Path + " " + d.Version + "\n"
		}
	}
	return out
}
