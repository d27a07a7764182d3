package kazoo

import "strings"

// EventRoutePrefix names Kamailio's catch-all consumer route and starts every other candidate.
const EventRoutePrefix = "kazoo:consumer-event"

// EventRoutes returns the event routes Kamailio's kazoo module tries for a consumed message,
// most specific first; Kamailio runs the first one its script defines (kz_amqp_consumer_event).
// key and subkey name the payload keys to read; empty means the module defaults
// Event-Category and Event-Name. With the defaults and {"Event-Category":"directory",
// "Event-Name":"reg_flush"} the list is:
//
//	kazoo:consumer-event-directory-reg-flush
//	kazoo:consumer-event-directory
//	kazoo:consumer-event-event-category-event-name
//	kazoo:consumer-event-event-category
//	kazoo:consumer-event
//
// As in Kamailio, each name is lower-cased (ASCII) with '_' turned into '-', values are read from
// top-level keys only and rendered as json_object_get_string does ([Envelope.Text]), and when
// key or subkey was given explicitly (a subscription's event_key / event_subkey) but its value is
// missing, the key name itself stands in for the value.
//
// Where Kamailio would build a name around an empty value ("kazoo:consumer-event--reg-flush"),
// EventRoutes leaves that candidate out, and it never lists a name twice.
func EventRoutes(e Envelope, key, subkey string) []string {
	explicitKey, explicitSub := key != "", subkey != ""
	if !explicitKey {
		key = HeaderEventCategory
	}
	if !explicitSub {
		subkey = HeaderEventName
	}
	cat, name := e.Text(key), e.Text(subkey)
	if cat == "" && explicitKey {
		cat = key
	}
	if name == "" && explicitSub {
		name = subkey
	}

	var routes []string
	add := func(parts ...string) {
		for _, p := range parts {
			if p == "" {
				return
			}
		}
		r := routeName(EventRoutePrefix + "-" + strings.Join(parts, "-"))
		for _, have := range routes {
			if have == r {
				return
			}
		}
		routes = append(routes, r)
	}
	add(cat, name)
	add(cat)
	add(key, subkey)
	add(key)
	return append(routes, EventRoutePrefix)
}

// routeName is Kamailio's tolower-and-underscore fix-up of a route name.
func routeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
			b[i] = c + ('a' - 'A')
		case c == '_':
			b[i] = '-'
		}
	}
	return string(b)
}
