package integration

import amqp "github.com/rabbitmq/amqp091-go"

func amqpPublishing(body string) amqp.Publishing {
	return amqp.Publishing{ContentType: "text/plain", Body: []byte(body)}
}

func amqpJSON(body string) amqp.Publishing {
	return amqp.Publishing{ContentType: "application/json", DeliveryMode: amqp.Persistent, Body: []byte(body)}
}
