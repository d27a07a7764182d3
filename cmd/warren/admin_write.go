package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/warrenmq/warren/supervisor"
)

// adminWriteSlack is what a write's client waits beyond the server's own
// bound (a drain's timeout).
const adminWriteSlack = 5 * time.Second

// write sends method path with body (nil: none) and the write token, and
// returns the server's AdminChange. wait is how long the server may take
// (0: adminTimeout). A refusal is an error with the server's reason; a 401
// says where the token came from.
func (a *app) write(cmd *cobra.Command, method, path string, body any, wait time.Duration) (supervisor.AdminChange, error) {
	var change supervisor.AdminChange
	c, err := a.adminClient(cmd)
	if err != nil {
		return change, err
	}
	token, from, err := a.adminToken(cmd, c.addr)
	if err != nil {
		return change, err
	}
	var payload io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return change, err
		}
		payload = bytes.NewReader(b)
	}
	if wait <= 0 {
		wait = adminTimeout
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), wait+adminWriteSlack)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, payload)
	if err != nil {
		return change, fmt.Errorf("admin API request %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	client := *c.http
	client.Timeout = wait + adminWriteSlack
	res, err := client.Do(req)
	if err != nil {
		return change, c.unreachable(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return change, fmt.Errorf("reading the Warren admin API's answer to %s %s at %s: %w", method, path, c.addr, err)
	}
	if res.StatusCode/100 != 2 {
		var e supervisor.AdminError
		why := "not a Warren admin API?"
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			why = e.Error
		}
		if res.StatusCode == http.StatusUnauthorized {
			return change, fmt.Errorf("no or wrong admin token: the admin API at %s refused the token of %s (%s): "+
				"is it the token of the 'warren run' serving there?", c.addr, from, res.Status)
		}
		return change, fmt.Errorf("the Warren admin API at %s refused %s %s with %s: %s", c.addr, method, path, res.Status, why)
	}
	if err := json.Unmarshal(raw, &change); err != nil {
		return change, fmt.Errorf("the answer of %s to %s %s is not what Warren expects: %w", c.addr, method, path, err)
	}
	return change, nil
}

// printChange prints what a write changed, one line.
func (a *app) printChange(ch supervisor.AdminChange) {
	fmt.Fprintln(a.stdout, ch.Message)
}

// change sends the write (see write) and prints what changed.
func (a *app) change(cmd *cobra.Command, method, path string, body any, wait time.Duration) error {
	ch, err := a.write(cmd, method, path, body, wait)
	if err != nil {
		return err
	}
	a.printChange(ch)
	return nil
}

// addWriteFlags adds the flags of a command that writes: --admin and
// --admin-token-file.
func addWriteFlags(cmd *cobra.Command) {
	addAdminFlag(cmd, "`ADDR` of the admin API that 'warren run' serves")
	addAdminTokenFlag(cmd)
}
