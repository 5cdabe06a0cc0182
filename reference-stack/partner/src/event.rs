//! The movie event partner consumes: catalog's contract in
//! `contracts/events/movie-event.schema.json`. Parsing is the poison check: a body that is not
//! such an event is rejected to the dead-letter queue.

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use stack_common::event::EventType;

/// A parsed, valid event.
#[derive(Debug, Clone, PartialEq)]
pub struct MovieEvent {
    /// UUID; the idempotency key.
    pub event_id: String,
    /// The type.
    pub kind: EventType,
    /// The movie's id.
    pub movie_id: String,
    /// When catalog committed the change, as sent.
    pub committed_at: String,
    /// The same, parsed.
    pub committed: OffsetDateTime,
}

/// Why a message is poison.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PoisonReason {
    /// Not JSON, or not the event's shape.
    #[error("not a movie event: {0}")]
    Malformed(String),
    /// A `type` this version does not know.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// `event_id` is not a UUID.
    #[error("event_id {0:?} is not a UUID")]
    BadEventId(String),
    /// `committed_at` is not RFC 3339.
    #[error("committed_at {0:?} is not RFC 3339")]
    BadTime(String),
}

// Unknown fields are accepted (a tolerant reader: catalog may add fields without breaking
// partner); missing or mistyped required ones are not.
#[derive(Deserialize)]
struct Wire {
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    movie_id: String,
    committed_at: String,
}

impl MovieEvent {
    /// Parses and checks a message body.
    pub fn from_slice(body: &[u8]) -> Result<MovieEvent, PoisonReason> {
        let wire: Wire = serde_json::from_slice(body).map_err(|e| PoisonReason::Malformed(e.to_string()))?;
        let Some(kind) = EventType::from_wire(&wire.kind) else {
            return Err(PoisonReason::UnknownType(wire.kind));
        };
        let event_id = uuid::Uuid::parse_str(&wire.event_id)
            .map_err(|_| PoisonReason::BadEventId(wire.event_id.clone()))?
            .to_string();
        let committed = OffsetDateTime::parse(&wire.committed_at, &Rfc3339)
            .map_err(|_| PoisonReason::BadTime(wire.committed_at.clone()))?;
        Ok(MovieEvent {
            event_id,
            kind,
            movie_id: wire.movie_id,
            committed_at: wire.committed_at,
            committed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"event_id":"6f1c2a52-7d0e-4a59-9a43-0d3f5b7e9c11","type":"movie.created","movie_id":"m","committed_at":"2026-11-26T15:00:00.123456Z","movie":{"id":"m"},"extra":1}"#;

    #[test]
    fn a_good_event_parses_and_poison_says_why() {
        let e = MovieEvent::from_slice(GOOD.as_bytes()).unwrap();
        assert_eq!(e.kind, EventType::Created);
        assert_eq!(e.committed.microsecond(), 123_456);
        assert!(matches!(
            MovieEvent::from_slice(b"not json"),
            Err(PoisonReason::Malformed(_))
        ));
        let unknown = GOOD.replace("movie.created", "movie.renamed");
        assert_eq!(
            MovieEvent::from_slice(unknown.as_bytes()),
            Err(PoisonReason::UnknownType("movie.renamed".into()))
        );
        let bad_id = GOOD.replace("6f1c2a52-7d0e-4a59-9a43-0d3f5b7e9c11", "x");
        assert!(matches!(
            MovieEvent::from_slice(bad_id.as_bytes()),
            Err(PoisonReason::BadEventId(_))
        ));
        let bad_time = GOOD.replace("2026-11-26T15:00:00.123456Z", "yesterday");
        assert!(matches!(
            MovieEvent::from_slice(bad_time.as_bytes()),
            Err(PoisonReason::BadTime(_))
        ));
    }
}
