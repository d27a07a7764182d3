package supervisor

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/warrenmq/warren/actors"
	"gopkg.in/ini.v1"
)

// poolSectionPrefix starts the name of a config.ini section that declares
// a named pool: [pool billing].
const poolSectionPrefix = "pool "

// poolKeys are the keys of a [pool NAME] section.
var poolKeys = []string{"kind", "broker", "zone", "tag", "size"}

// poolsOf reads the [pool NAME] sections of f, in file order:
//
//	[pool billing]
//	kind = workers          ; or publishers
//	broker = 10.0.0.5:5672  ; a broker id, or its amqp_uri; or zone = / tag =
//	size = 4
//
// Section names are case-insensitive, as all of config.ini's: the pool's
// name is the section's, in lower case.
func poolsOf(f *ini.File, path string) ([]PoolSpec, error) {
	var out []PoolSpec
	for _, sec := range f.Sections() {
		name, ok := strings.CutPrefix(sec.Name(), poolSectionPrefix)
		if !ok {
			continue
		}
		label := "[" + sec.Name() + "]"
		spec := PoolSpec{Name: strings.TrimSpace(name)}
		for _, k := range sec.Keys() {
			v := unquote(k.String())
			switch k.Name() {
			case "kind":
				spec.Kind = PoolKind(v)
			case "broker":
				spec.Broker = v
				if strings.Contains(v, "://") { // an amqp_uri: its id, never its password
					id, err := actors.BrokerID(v)
					if err != nil {
						return nil, &ConfigError{Source: path, Section: label, Key: "broker", Err: err}
					}
					spec.Broker = id
				}
			case "zone":
				spec.Zone = v
			case "tag":
				spec.Tag = v
			case "size":
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, &ConfigError{Source: path, Section: label, Key: "size", Err: fmt.Errorf("%q: not a number", echo(v))}
				}
				spec.Size = n
			default:
				return nil, &ConfigError{Source: path, Section: label, Key: k.Name(),
					Err: fmt.Errorf("unknown key (a pool takes %s)", strings.Join(poolKeys, ", "))}
			}
		}
		if err := spec.Validate(); err != nil {
			return nil, &ConfigError{Source: path, Section: label, Err: err}
		}
		out = append(out, spec)
	}
	return out, nil
}

// configPools builds the named pools of cfg.Pools against the configured
// brokers, for Start to give the root with the zones' pools.
func (t *Tree) configPools(cfg Config, specs []actors.BrokerSpec) ([]Pool, error) {
	src := cfg.Source
	if src == "" {
		src = "config"
	}
	brokers := make([]knownBroker, 0, len(specs))
	for _, s := range specs {
		brokers = append(brokers, knownBroker{s.ID, s.Zone})
	}
	var out []Pool
	for i, spec := range cfg.Pools {
		section := fmt.Sprintf("pool #%d (%s)", i+1, echo(spec.Name))
		if err := spec.Validate(); err != nil {
			return nil, &ConfigError{Source: src, Section: section, Err: err}
		}
		info, err := t.resolvePool(spec, brokers)
		if err != nil {
			return nil, &ConfigError{Source: src, Section: section, Err: err}
		}
		_, pool, err := t.newRuntimePool(info)
		if err != nil {
			return nil, &ConfigError{Source: src, Section: section, Err: err}
		}
		out = append(out, pool)
	}
	return out, nil
}
