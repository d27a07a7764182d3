package supervisor

import (
	"slices"
	"strings"
	"testing"
)

// [warren] connections and max_connections set every broker's; tags=…
// and hidden=true on an amqp_uri set that broker's tags and hide it, and
// are gone from the URI the connection dials.
func TestLoadINI_ConnectionsTagsAndHidden(t *testing.T) {
	t.Setenv(EnvURI, "")
	t.Setenv(EnvZone, "")
	t.Setenv("KAZOO_ZONE", "")
	cfg, err := LoadINI(writeINI(t, "[zone]\nname=z\namqp_uri=amqp://h\namqp_uri=amqp://u:pw@r:5673/?tags=rec,eu&hidden=true&heartbeat=7\n[warren]\nconnections = 3\nmax_connections = 8\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Connections != 3 || cfg.MaxConnections != 8 {
		t.Fatalf("connections %d, max %d", cfg.Connections, cfg.MaxConnections)
	}
	_, specs, err := cfg.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 {
		t.Fatalf("%d specs", len(specs))
	}
	plain, tagged := specs[0], specs[1]
	if plain.Connections != 3 || plain.MaxConnections != 8 || plain.Hidden || plain.Tags != nil {
		t.Fatalf("plain broker: %+v", plain)
	}
	if !tagged.Hidden || !slices.Equal(tagged.Tags, []string{"rec", "eu"}) || tagged.ID != "r:5673" {
		t.Fatalf("tagged broker: id %s hidden %v tags %v", tagged.ID, tagged.Hidden, tagged.Tags)
	}
	if u := tagged.Options.URL; strings.Contains(u, "tags") || strings.Contains(u, "hidden") || !strings.Contains(u, "heartbeat=7") {
		t.Fatalf("the dialled URI keeps Warren's parameters or lost the others: %s", u)
	}
	cfg.Connections = 40
	if _, _, err := cfg.resolve(); err == nil || !strings.Contains(err.Error(), "connections 40") || strings.Contains(err.Error(), "pw") {
		t.Fatalf("connections past the max: %v", err)
	}
}
