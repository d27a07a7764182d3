package nullbroker

import (
	"slices"
	"strings"

	"github.com/warrenmq/warren/internal/nullbroker/codec"
)

// route appends to dst the queues a message published to exchange x
// reaches, each once, following exchange-to-exchange bindings (each
// exchange visited once, so binding cycles are harmless).
//
//   - default exchange (""): the queue named by the routing key
//   - direct: bindings whose key equals the routing key
//   - fanout: every binding
//   - topic: bindings whose pattern matches the routing key (see topicMatch)
//   - headers: bindings whose arguments match the message headers (see
//     headersMatch)
func (s *Server) route(x *exchange, m *message, dst []*queue) []*queue {
	if x.name == "" {
		if q := s.queues[m.key]; q != nil {
			dst = append(dst, q)
		}
		return dst
	}
	var (
		words    []string // routing key split on '.', for topic exchanges
		split    bool
		headers  codec.Table // message headers, for headers exchanges
		decoded  bool
		visited  = []*exchange{x}
		frontier = []*exchange{x}
	)
	for len(frontier) > 0 {
		x := frontier[0]
		frontier = frontier[1:]
		for _, b := range x.bindings {
			var match bool
			switch x.kind {
			case kindDirect:
				match = b.key == m.key
			case kindFanout:
				match = true
			case kindTopic:
				if !split {
					words, split = splitTopic(m.key), true
				}
				match = topicMatch(b.words, words)
			case kindHeaders:
				if !decoded {
					headers, decoded = messageHeaders(m.props), true
				}
				match = headersMatch(b.args, headers)
			}
			if !match {
				continue
			}
			if b.toExchange {
				if next := s.exchanges[b.dest]; next != nil && !slices.Contains(visited, next) {
					visited = append(visited, next)
					frontier = append(frontier, next)
				}
			} else if q := s.queues[b.dest]; q != nil && !slices.Contains(dst, q) {
				dst = append(dst, q)
			}
		}
	}
	return dst
}

// splitTopic splits a routing or binding key into words. The empty key has
// no words (so it matches "#" but not "*"), as in RabbitMQ.
func splitTopic(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, ".")
}

// topicMatch reports whether a binding pattern matches a routing key, both
// split into words: "*" matches exactly one word, "#" zero or more, any
// other word itself.
func topicMatch(pattern, key []string) bool {
	for len(pattern) > 0 {
		switch p := pattern[0]; p {
		case "#":
			// Collapse "#.#" runs, then try every split point.
			for len(pattern) > 1 && pattern[1] == "#" {
				pattern = pattern[1:]
			}
			if len(pattern) == 1 {
				return true
			}
			for i := 0; i <= len(key); i++ {
				if topicMatch(pattern[1:], key[i:]) {
					return true
				}
			}
			return false
		case "*":
			if len(key) == 0 {
				return false
			}
		default:
			if len(key) == 0 || key[0] != p {
				return false
			}
		}
		pattern, key = pattern[1:], key[1:]
	}
	return len(key) == 0
}

// messageHeaders decodes the headers property of an encoded property
// list; nil when absent or malformed.
func messageHeaders(props []byte) codec.Table {
	if codec.PropertyFlags(props)&codec.FlagHeaders == 0 {
		return nil
	}
	p, err := codec.DecodeProperties(props)
	if err != nil {
		return nil
	}
	return p.Headers
}

// headersMatch implements the headers exchange. The binding argument
// "x-match" is "all" (the default: every other argument must match) or
// "any" (at least one must); "all-with-x" and "any-with-x" also compare
// arguments starting with "x-", which are otherwise ignored. An argument
// matches a header of the same name and equal value; an argument with a
// void value matches a header of that name whatever its value.
func headersMatch(args, headers codec.Table) bool {
	mode, _ := args["x-match"].(string)
	anyMode := strings.HasPrefix(mode, "any")
	withX := strings.HasSuffix(mode, "-with-x")
	for k, want := range args {
		if k == "x-match" || (strings.HasPrefix(k, "x-") && !withX) {
			continue
		}
		got, ok := headers[k]
		ok = ok && (want == nil || codec.Equal(want, got))
		if ok && anyMode {
			return true
		}
		if !ok && !anyMode {
			return false
		}
	}
	return !anyMode
}
