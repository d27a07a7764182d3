package nodes

import (
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/warrenmq/warren/actors/kazoo"
	"github.com/warrenmq/warren/registry"
)

// gregorianOffset is the number of seconds from year 0 to 1970: Kazoo's
// times (kz_time:now_s, a WhApp's Startup) are Gregorian seconds.
const gregorianOffset = 62167219200

// advertisement is the envelope of this node's advertisement, valid against
// [Advertise] once Prepare has filled Msg-ID.
func advertisement(c Config, apps []string, started time.Time, expires time.Duration) kazoo.Envelope {
	var mem runtime.MemStats
	runtime.ReadMemStats(&mem) // about 25µs: once a period
	startup := started.Unix() + gregorianOffset
	whapps := make(map[string]any, len(apps))
	for _, a := range apps {
		whapps[a] = map[string]any{"Startup": startup}
	}
	return kazoo.Envelope{
		kazoo.HeaderEventCategory: Category,
		kazoo.HeaderEventName:     EventName,
		kazoo.HeaderAppName:       AppName,
		kazoo.HeaderAppVersion:    c.version(),
		kazoo.HeaderNode:          c.Node,
		"Expires":                 expires.Milliseconds(),
		"Zone":                    c.Zone,
		"Version":                 c.version() + " - " + runtime.Version(),
		"Used-Memory":             int64(mem.Sys),
		"Processes":               runtime.NumGoroutine(),
		"WhApps":                  whapps,
	}
}

func (c Config) version() string {
	if c.Version == "" {
		return "(devel)"
	}
	return c.Version
}

// appsOf lists what this node runs, as its WhApps: each listener (not the
// federators) and each pool of publishers and RPC workers, by name, sorted.
func appsOf(s *registry.Snapshot) []string {
	seen := map[string]bool{}
	for _, l := range s.Listeners() {
		if l.Parent == "" {
			seen[l.Name] = true
		}
	}
	for _, p := range s.Publishers() {
		seen[poolOf(p.ID)] = true
	}
	for _, w := range s.Workers() {
		seen[poolOf(w.Path)] = true
	}
	delete(seen, "")
	apps := make([]string, 0, len(seen))
	for a := range seen {
		apps = append(apps, a)
	}
	sort.Strings(apps)
	return apps
}

// poolOf returns the pool of a worker's path: "publishers" of
// "warren/publishers/publishers-1".
func poolOf(path string) string {
	parts := strings.Split(path, "/")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}
