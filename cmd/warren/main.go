// Command warren runs Warren's supervision tree and inspects a running one
// through its admin API. See `warren --help`.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(newApp().execute(context.Background(), os.Args[1:]))
}
