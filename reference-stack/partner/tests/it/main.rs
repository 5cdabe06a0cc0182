//! partner's integration tests: real iam, catalog (with its outbox relay) and partner on
//! loopback port 0, against a real RabbitMQ (`GAUNTLET_AMQP_URL`, else 127.0.0.1:5672), each
//! test with its own exchange and queues; the outage test runs its own private
//! `rabbitmq-server` (`stack_local::PrivateBroker`) that it stops and starts.

mod config;
mod events;
mod outage;
mod support;
