package kazoo

import (
	"fmt"
	"strconv"
)

// Path is a parsed Kamailio kz.json / kazoo_json path such as "Channels[0].switch_url": object
// keys separated by '.', each followed by any number of array indexes "[n]", as Kamailio's kazoo
// module reads them. Build one with [ParsePath]. The zero Path addresses the document itself.
//
// Syntax, stricter than Kamailio's sscanf-based parser:
//
//   - a key is one or more bytes other than '.', '[' and ']', so "Event-Category" and
//     "switch_url" are keys;
//   - "[n]" takes element n (decimal, from 0) of an array, and may repeat: "a[0][1].b";
//   - only the first step may be a bare index, "[0].name", to address a top-level array;
//   - empty keys ("a..b", ".a", "a."), an unterminated or non-numeric index ("a[", "a[x]",
//     "a[]") and text after an index ("a[0]b") are errors.
//
// Keys containing a '.' cannot be addressed: there is no escaping. Kamailio does have one: its
// kazoo module turns the json_escape_char modparam (default '%') into '.' inside each key, so
// Kamailio reads "a%b" as the key "a.b", where Path reads the key "a%b". Kamailio also takes at
// most one index per key, and applies "[n]" to a non-array by ignoring it; Path does neither.
//
// A Path is immutable and safe for concurrent use.
type Path struct {
	src   string
	steps []pathStep
}

type pathStep struct {
	key   string // when !isIdx
	idx   int    // when isIdx
	isIdx bool
}

// String returns the path as it was given to ParsePath.
func (p Path) String() string { return p.src }

// ParsePath parses a kz.json path; see [Path] for the syntax. A malformed path gives an error
// wrapping [ErrBadPath] that names the byte position.
func ParsePath(s string) (Path, error) {
	bad := func(pos int, msg string) (Path, error) {
		return Path{}, fmt.Errorf("%w %q at byte %d: %s", ErrBadPath, s, pos, msg)
	}
	if s == "" {
		return bad(0, "empty path")
	}
	p := Path{src: s}
	for i := 0; ; {
		start := i
		for i < len(s) && s[i] != '.' && s[i] != '[' && s[i] != ']' {
			i++
		}
		switch {
		case i > start:
			p.steps = append(p.steps, pathStep{key: s[start:i]})
		case start == 0 && i < len(s) && s[i] == '[':
			// a bare leading index: "[0].name"
		default:
			return bad(i, "empty key")
		}
		for i < len(s) && s[i] == '[' {
			j := i + 1
			for j < len(s) && '0' <= s[j] && s[j] <= '9' {
				j++
			}
			switch {
			case j == len(s):
				return bad(i, "'[' without ']'")
			case s[j] != ']':
				return bad(j, "array index must be decimal digits")
			case j == i+1:
				return bad(j, "empty array index")
			}
			n, err := strconv.Atoi(s[i+1 : j])
			if err != nil {
				return bad(i+1, "array index out of range")
			}
			p.steps = append(p.steps, pathStep{idx: n, isIdx: true})
			i = j + 1
		}
		if i == len(s) {
			return p, nil
		}
		switch s[i] {
		case '.':
			i++
			if i == len(s) {
				return bad(i, "empty key after '.'")
			}
		case ']':
			return bad(i, "']' without '['")
		default:
			return bad(i, "want '.' or '[' after ']'")
		}
	}
}

// MustParsePath is ParsePath for paths known at compile time; it panics on a malformed path.
func MustParsePath(s string) Path {
	p, err := ParsePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Get walks doc, a decoded JSON value ([Envelope], map[string]any, []any or a scalar), along p.
// ok is false when a key is absent, an index is out of range, or a step meets the wrong kind of
// value. A JSON null that is present is returned as (nil, true).
func (p Path) Get(doc any) (v any, ok bool) {
	v = doc
	for _, st := range p.steps {
		if st.isIdx {
			arr, isArr := v.([]any)
			if !isArr || st.idx >= len(arr) {
				return nil, false
			}
			v = arr[st.idx]
			continue
		}
		var obj map[string]any
		switch x := v.(type) {
		case map[string]any:
			obj = x
		case Envelope:
			obj = x
		default:
			return nil, false
		}
		if v, ok = obj[st.key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// Get returns the value at path in doc; see [Path.Get]. A malformed path gives (nil, false);
// use [ParsePath] to see why.
func Get(doc any, path string) (any, bool) {
	p, err := ParsePath(path)
	if err != nil {
		return nil, false
	}
	return p.Get(doc)
}

// GetString is Kamailio's kazoo_json(body, path, dst) / $(var{kz.json,path}): it parses body
// (any JSON value, numbers kept exact) and returns the value at path as Kamailio prints it —
// strings as they are, numbers and booleans as JSON text, objects and arrays as compact JSON
// (json-c adds spaces; Warren does not). ok is false when nothing is there or the value is null,
// where Kamailio yields $null. The error wraps [ErrBadPath] or [ErrMalformedJSON].
func GetString(body []byte, path string) (string, bool, error) {
	p, err := ParsePath(path)
	if err != nil {
		return "", false, err
	}
	doc, err := decodeJSON(body)
	if err != nil {
		return "", false, err
	}
	v, ok := p.Get(doc)
	if !ok {
		return "", false, nil
	}
	s, ok := text(v)
	return s, ok, nil
}
