package kazoo

// Names of Kazoo's standard exchanges (include/kz_amqp.hrl).
const (
	ExchangeTargeted      = "targeted"
	ExchangeCallctl       = "callctl"
	ExchangeCallevt       = "callevt"
	ExchangeResources     = "resources"
	ExchangeCallmgr       = "callmgr"
	ExchangeConference    = "conference"
	ExchangeMonitor       = "monitor"
	ExchangeConfiguration = "configuration"
	ExchangeKapps         = "kapps"
	ExchangeNotifications = "notifications"
	ExchangeSysconf       = "sysconf"
	ExchangeBookkeepers   = "bookkeepers"
	ExchangeNodes         = "nodes"
	ExchangeRegistrar     = "registrar"
	ExchangeLeader        = "leader"
	ExchangeTasks         = "tasks"
	ExchangePresence      = "presence"
)

// AMQP exchange kinds used by Kazoo.
const (
	KindDirect = "direct"
	KindTopic  = "topic"
	KindFanout = "fanout"
)

// Exchange is an exchange declaration. Its zero flags are Kazoo's defaults: kz_amqp_util's
// new_exchange/3 declares every standard exchange non-durable, non-auto-delete, not internal and
// without arguments, and RabbitMQ refuses (406 PRECONDITION_FAILED) a redeclaration whose flags differ.
type Exchange struct {
	Name       string
	Kind       string // KindDirect, KindTopic or KindFanout
	Durable    bool
	AutoDelete bool
	Internal   bool
	Args       map[string]any // nil for every standard exchange
}

// StandardExchanges returns the exchanges of Kazoo's kz_amqp.hrl in the order that file lists
// them. Each call returns a fresh slice, so callers may change it.
func StandardExchanges() []Exchange {
	return []Exchange{
		{Name: ExchangeTargeted, Kind: KindDirect},
		{Name: ExchangeCallctl, Kind: KindDirect},
		{Name: ExchangeCallevt, Kind: KindTopic},
		{Name: ExchangeResources, Kind: KindTopic},
		{Name: ExchangeCallmgr, Kind: KindTopic},
		{Name: ExchangeConference, Kind: KindTopic},
		{Name: ExchangeMonitor, Kind: KindTopic},
		{Name: ExchangeConfiguration, Kind: KindTopic},
		{Name: ExchangeKapps, Kind: KindTopic},
		{Name: ExchangeNotifications, Kind: KindTopic},
		{Name: ExchangeSysconf, Kind: KindTopic},
		{Name: ExchangeBookkeepers, Kind: KindTopic},
		{Name: ExchangeNodes, Kind: KindFanout},
		{Name: ExchangeRegistrar, Kind: KindTopic},
		{Name: ExchangeLeader, Kind: KindTopic},
		{Name: ExchangeTasks, Kind: KindTopic},
		{Name: ExchangePresence, Kind: KindTopic},
	}
}
