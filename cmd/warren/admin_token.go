package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

// envAdminToken, when set, is the admin API's write token: for `warren run`
// the token to serve with, for the client commands the token to send
// (instead of the token file).
const envAdminToken = "WARREN_ADMIN_TOKEN"

// addAdminTokenFlag adds --admin-token-file to a command that writes
// through the admin API.
func addAdminTokenFlag(cmd *cobra.Command) {
	cmd.Flags().String("admin-token-file", "", "`FILE` holding the admin API's write token (default: the file 'warren run' "+
		"wrote for --admin, see 'warren run --help'; $"+envAdminToken+" overrides it)")
}

// adminToken returns the token to send with a write, and where it came
// from (for a 401's message): --admin-token-file, else $WARREN_ADMIN_TOKEN,
// else the file `warren run` wrote for addr. The token itself is never
// part of an error.
func (a *app) adminToken(cmd *cobra.Command, addr string) (token, from string, err error) {
	if f := cmd.Flags().Lookup("admin-token-file"); f != nil && f.Changed {
		file := f.Value.String()
		token, err := supervisor.ReadAdminToken(file)
		if err != nil {
			return "", "", fmt.Errorf("--admin-token-file: %w", err)
		}
		return token, "--admin-token-file " + file, nil
	}
	if v := strings.TrimSpace(a.getenv(envAdminToken)); v != "" {
		return v, "$" + envAdminToken, nil
	}
	file := supervisor.AdminTokenFile(tokenKey(addr))
	token, err = supervisor.ReadAdminToken(file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("no admin token: %s does not exist. 'warren run --admin %s' writes it when it starts; "+
			"run this command as the same user, or pass --admin-token-file FILE or $%s", file, addr, envAdminToken)
	}
	if err != nil {
		return "", "", fmt.Errorf("admin token: %w", err)
	}
	return token, file, nil
}

// tokenKey is the address the token file of --admin addr is named after:
// host:port, for an http:// URL too.
func tokenKey(addr string) string {
	addr = strings.TrimPrefix(strings.TrimPrefix(addr, "http://"), "https://")
	addr, _, _ = strings.Cut(addr, "/")
	return addr
}
