package integration

import (
	"context"
	"fmt"
	"time"

	"github.com/warrenmq/warren/actors/listener"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/warrenmq/warren/supervisor"
)

// Example_listener embeds Warren, spawns a listener with two handlers (one
// for an exact event, one for its whole category) and shows a delivery.
func Example_listener() {
	uri := exampleBroker().URI() // a throw-away RabbitMQ; yours comes from config.ini

	tree, err := supervisor.Start(supervisor.Config{
		Zones: []supervisor.Zone{{Name: "local", Brokers: []string{uri}}},
	}, supervisor.WithLogger(supervisor.DiscardLogger()))
	if err != nil {
		panic(err)
	}
	defer tree.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tree.WaitReady(ctx); err != nil {
		panic(err)
	}

	got := make(chan string, 2)
	pid, err := tree.SpawnListener(ctx, listener.Spec{
		Name: "registrar",
		// One routing key, handled in arrival order.
		OrderedByKey: true,
		Queue:        listener.QueueSpec{Name: "registrar-example", AutoDelete: true},
		Bindings:     []listener.Binding{{Exchange: "registrar", RoutingKey: "registration.success.*"}},
		// The most specific route only (Kamailio's order); the default,
		// DispatchAll, would run both routes for a reg_success (Kazoo's).
		Dispatch: listener.DispatchOne,
		Handlers: []listener.Route{
			{Category: "directory", Name: "reg_success", Handler: func(_ context.Context, d *listener.Delivery) error {
				got <- fmt.Sprintf("reg_success for %s via %s", d.Envelope.Text("Username"), d.RoutingKey)
				return nil
			}},
			{Category: "directory", Handler: func(_ context.Context, d *listener.Delivery) error {
				got <- "other directory event: " + d.Envelope.Name()
				return nil
			}},
		},
	})
	if err != nil {
		panic(err)
	}
	// Wait until it consumes: its queue is declared and bound.
	if err := tree.WaitConsuming(ctx, pid); err != nil {
		panic(err)
	}

	// Any AMQP client publishes a Kazoo event; here, plain amqp091-go.
	conn, err := amqp.Dial(uri)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	for _, body := range []string{
		`{"Event-Category":"directory","Event-Name":"reg_success","Username":"alice","Msg-ID":"1"}`,
		`{"Event-Category":"directory","Event-Name":"reg_flush","Msg-ID":"2"}`,
	} {
		_ = ch.PublishWithContext(ctx, "registrar", "registration.success.example%2Ecom", false, false,
			amqp.Publishing{ContentType: "application/json", Body: []byte(body)})
	}
	fmt.Println(<-got)
	fmt.Println(<-got)
	// Output:
	// reg_success for alice via registration.success.example%2Ecom
	// other directory event: reg_flush
}
