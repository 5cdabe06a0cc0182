//! The movie event's type, as catalog publishes it and partner consumes it
//! (`contracts/events/movie-event.schema.json`): one definition of the wire names for both.

/// The kind of change an event reports; its wire name is also the routing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// `movie.created` (partner fetches the movie).
    Created,
    /// `movie.updated`: a movie was replaced.
    Updated,
    /// `movie.deleted`.
    Deleted,
}

impl EventType {
    /// `movie.created`, `movie.updated` or `movie.deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "movie.created",
            EventType::Updated => "movie.updated",
            EventType::Deleted => "movie.deleted",
        }
    }

    /// The type whose wire name is `s`, if it is one.
    pub fn from_wire(s: &str) -> Option<EventType> {
        [EventType::Created, EventType::Updated, EventType::Deleted]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}
