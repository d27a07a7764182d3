package supervisor

import (
	"net/url"
	"strings"
)

// brokerQuery reads Warren's own query parameters off a broker URI and
// returns the URI without them: tags=a,b (the broker's tags, Kazoo's
// broker_tag) and hidden=true (a hidden broker: sticky channels only).
// Every other parameter (heartbeat, channel_max, TLS files…) stays for the
// connection to read. A URI that does not parse is returned as is: the
// broker spec reports it, redacted.
func brokerQuery(uri string) (string, []string, bool) {
	u, err := url.Parse(uri)
	if err != nil || u.RawQuery == "" {
		return uri, nil, false
	}
	q := u.Query()
	if !q.Has("tags") && !q.Has("hidden") {
		return uri, nil, false
	}
	var tags []string
	for _, v := range q["tags"] {
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				tags = append(tags, t)
			}
		}
	}
	hidden := q.Get("hidden") == "true" || q.Get("hidden") == "1"
	q.Del("tags")
	q.Del("hidden")
	u.RawQuery = q.Encode()
	return u.String(), tags, hidden
}
