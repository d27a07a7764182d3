package main

import (
	"fmt"
	"net/url"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

func newDrainCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drain ID",
		Short: "Drain a broker of a running warren: its floats move to the zone's other brokers",
		Long: "drain marks broker ID draining (POST /brokers/ID/drain): it takes no new float\n" +
			"channels, and the floats holding one of its channels move to another broker of\n" +
			"its zone. It returns once none holds one, or after --timeout naming what still\n" +
			"does. Stickies stay. It is refused when no other broker of the zone is up.\n" +
			"The mark stays until 'warren undrain ID'.",
		Example: "  warren drain 10.0.0.7:5672\n  warren drain 10.0.0.7:5672 --timeout 25s && warren brokers remove 10.0.0.7:5672",
		Args:    exactlyOne("broker ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			timeout, _ := cmd.Flags().GetDuration("timeout")
			if timeout <= 0 || timeout > supervisor.AdminMaxDrainTimeout {
				return &usageError{fmt.Errorf("--timeout %v: need more than 0 and at most %v", timeout, supervisor.AdminMaxDrainTimeout)}
			}
			return a.change(cmd, "POST", "/brokers/"+url.PathEscape(args[0])+"/drain", supervisor.AdminDrain{Timeout: timeout.String()}, timeout)
		},
	}
	addWriteFlags(cmd)
	cmd.Flags().Duration("timeout", supervisor.DefaultAdminDrainTimeout, "how long to wait for the floats to move")
	return cmd
}

func newUndrainCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "undrain ID",
		Short:   "Undrain a broker of a running warren: it takes new floats again",
		Long:    "undrain clears the draining mark of broker ID (POST /brokers/ID/undrain).\nFloats that moved off it stay where they are.",
		Example: "  warren undrain 10.0.0.7:5672",
		Args:    exactlyOne("broker ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.change(cmd, "POST", "/brokers/"+url.PathEscape(args[0])+"/undrain", nil, 0)
		},
	}
	addWriteFlags(cmd)
	return cmd
}
