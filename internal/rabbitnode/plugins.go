package rabbitnode

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// appDeps matches the dependency lists of an Erlang .app file.
var appDeps = regexp.MustCompile(`\{\s*(?:included_)?applications\s*,\s*\[([^\]]*)\]`)

// linkCoreApps fills dst with symlinks to the applications of the release's plugins directory
// src that rabbit depends on, directly or not, and nothing else.
//
// The node's code path always holds all of src (rabbitmq-server sets ERL_LIBS itself), so this
// only narrows what RABBITMQ_PLUGINS_DIR makes the node scan at boot: configuration schemas and
// plugin .app files, about 1.5 s on two cores. No plugin can be enabled from such a directory.
func linkCoreApps(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	dirOf := map[string]string{} // application name -> "name-version" directory in src
	for _, e := range entries {
		if fi, err := os.Stat(filepath.Join(src, e.Name())); err != nil || !fi.IsDir() {
			continue // .ez archives and README: this release layout is not for us
		}
		app := e.Name()
		if i := strings.LastIndexByte(app, '-'); i > 0 {
			app = app[:i]
		}
		dirOf[app] = e.Name()
	}
	if _, ok := dirOf["rabbit"]; !ok {
		return fmt.Errorf("rabbitnode: no rabbit application in %s", src)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	todo, seen := []string{"rabbit"}, map[string]bool{}
	for len(todo) > 0 {
		app := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[app] {
			continue
		}
		seen[app] = true
		dir, ok := dirOf[app]
		if !ok {
			continue // part of Erlang/OTP (kernel, ssl, ...), not of the release
		}
		raw, err := os.ReadFile(filepath.Join(src, dir, "ebin", app+".app"))
		if err != nil {
			return err
		}
		for _, m := range appDeps.FindAllSubmatch(raw, -1) {
			for _, dep := range strings.Split(string(m[1]), ",") {
				if dep = strings.Trim(strings.TrimSpace(dep), "'"); dep != "" {
					todo = append(todo, dep)
				}
			}
		}
		if err := os.Symlink(filepath.Join(src, dir), filepath.Join(dst, dir)); err != nil {
			return err
		}
	}
	return nil
}
