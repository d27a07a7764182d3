package kazoo

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// API describes one Kazoo message type the way a kapi_* module does: the (Event-Category,
// Event-Name) pair that names it, the keys it requires (its *_HEADERS), the keys it may carry
// (OPTIONAL_*_HEADERS) and the values some keys are limited to (*_VALUES).
//
// An API is a plain value, safe for concurrent use while nobody modifies it; the package-level
// APIs ([AuthnReq], …) must never be modified.
type API struct {
	Category string // Event-Category
	Name     string // Event-Name
	// Exchange is where Kazoo publishes this message ("targeted" for replies, which go to the
	// request's Server-ID). Informational: Validate and Build do not use it.
	Exchange string
	Required []string            // keys that must be present and not null or ""
	Optional []string            // keys the API knows; informational, other keys are kept too
	Values   map[string][]string // key → allowed values, checked only when the key is present
}

// String returns "category/name", e.g. "directory/authn_req".
func (a API) String() string { return a.Category + "/" + a.Name }

// Is reports whether e is a message of this API, by Event-Category and Event-Name.
func (a API) Is(e Envelope) bool { return e.Category() == a.Category && e.Name() == a.Name }

// Validate checks e like kz_api:validate/4: the required envelope headers ([RequiredHeaders]),
// Event-Category and Event-Name equal to the API's, the API's required keys, the allowed values
// and the string type of the envelope headers. The error is a *[ValidationError] that names the
// API and every missing or invalid key.
func (a API) Validate(e Envelope) error {
	v := &ValidationError{API: a.String()}
	e.checkDefaults(v)
	a.check(e, v)
	return v.orNil()
}

func (a API) check(e Envelope, v *ValidationError) {
	for _, k := range a.Required {
		if isMissing(e[k]) && !slices.Contains(v.Missing, k) {
			v.Missing = append(v.Missing, k)
		}
	}
	a.checkEqual(e, HeaderEventCategory, a.Category, v)
	a.checkEqual(e, HeaderEventName, a.Name, v)
	keys := make([]string, 0, len(a.Values))
	for k := range a.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val, present := e[k]
		if !present || val == nil {
			continue // kz_api: "isn't defined in Prop, has_all will error if req'd"
		}
		allowed := a.Values[k]
		if s, ok := text(val); !ok || !slices.Contains(allowed, s) {
			v.Invalid = append(v.Invalid, fmt.Sprintf("%s %s (want one of %s)", k, describe(val), quoteAll(allowed)))
		}
	}
}

// checkEqual reports key as invalid when it is a string other than want; a missing key was
// already reported by checkDefaults.
func (a API) checkEqual(e Envelope, key, want string, v *ValidationError) {
	if got, ok := e[key].(string); ok && got != "" && got != want {
		v.Invalid = append(v.Invalid, fmt.Sprintf("%s %q (want %q)", key, got, want))
	}
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// Build makes a message of this API from fields: it deep-copies fields, sets Event-Category
// and Event-Name to the API's (replacing any others), fills and cleans it as [Envelope.Prepare]
// does, then validates it with [API.Validate]. fields is not modified.
//
// Unlike kz_api:build_message, Build keeps keys that are neither required nor optional: Kazoo
// receivers ignore unknown keys, and Warren would rather not drop data silently.
func (a API) Build(fields map[string]any, d Defaults) (Envelope, error) {
	e := Envelope(cloneObject(fields))
	e.SetCategory(a.Category)
	e.SetName(a.Name)
	e.fill(d)
	if err := a.Validate(e); err != nil {
		return nil, err
	}
	return e, nil
}
