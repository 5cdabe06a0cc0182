//! The gRPC API (`catalog.v1.MovieService`), the same operations and rules as REST; errors go
//! through the one `ApiError -> tonic::Status` mapping.

use std::pin::Pin;

use stack_common::ApiError;
use stack_common::auth::Claims;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::model::{self, DEFAULT_LIMIT, ListQuery, parse_id};
use crate::proto::movie_service_server::MovieService;
use crate::proto::{
    CreateMovieRequest, DeleteMovieRequest, DeleteMovieResponse, GetMovieRequest, ListMoviesRequest, Movie,
    MovieInput, UpdateMovieRequest,
};
use crate::{AppState, SCOPE_READ, SCOPE_WRITE};

/// The tonic service over the shared state.
#[derive(Clone)]
pub struct Movies {
    state: AppState,
}

impl Movies {
    /// A service over `state`.
    pub fn new(state: AppState) -> Self {
        Movies { state }
    }

    async fn authorize<T>(&self, request: &Request<T>, scope: &str) -> Result<Claims, Status> {
        let header = match request.metadata().get("authorization") {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| Status::unauthenticated("malformed authorization metadata"))?,
            ),
        };
        Ok(self.state.verifier.authorize(header, scope).await?)
    }
}

fn to_proto(m: model::Movie) -> Movie {
    Movie {
        id: m.id,
        title: m.title,
        year: m.year,
        genres: m.genres,
        rating: m.rating,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn from_proto(input: Option<MovieInput>) -> Result<model::MovieInput, ApiError> {
    let input = input.ok_or_else(|| ApiError::invalid_request("movie is required"))?;
    let input = model::MovieInput {
        title: input.title,
        year: input.year,
        genres: input.genres,
        rating: input.rating,
    };
    input.validate()?;
    Ok(input)
}

/// Adds the `event-id` response metadata (the id of the event the write produced).
fn with_event_id<T>(mut response: Response<T>, event_id: &str) -> Response<T> {
    if let Ok(value) = event_id.parse() {
        response.metadata_mut().insert("event-id", value);
    }
    response
}

fn not_found() -> Status {
    ApiError::not_found("no such movie").into()
}

#[tonic::async_trait]
impl MovieService for Movies {
    async fn get_movie(&self, request: Request<GetMovieRequest>) -> Result<Response<Movie>, Status> {
        self.authorize(&request, SCOPE_READ).await?;
        let id = parse_id(&request.into_inner().id)?;
        let movie = self.state.db.get(id).await?.ok_or_else(not_found)?;
        Ok(Response::new(to_proto(movie)))
    }

    type ListMoviesStream = Pin<Box<dyn Stream<Item = Result<Movie, Status>> + Send + 'static>>;

    async fn list_movies(
        &self,
        request: Request<ListMoviesRequest>,
    ) -> Result<Response<Self::ListMoviesStream>, Status> {
        self.authorize(&request, SCOPE_READ).await?;
        let req = request.into_inner();
        let query = ListQuery {
            limit: if req.limit == 0 { DEFAULT_LIMIT } else { req.limit },
            cursor: Some(req.cursor).filter(|c| !c.is_empty()),
            genre: req.genre,
            year: req.year,
            title: req.title_contains,
        };
        query.validate()?;
        let page = self.state.db.list(query).await?;
        let stream = tokio_stream::iter(page.items.into_iter().map(|m| Ok(to_proto(m))));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn create_movie(&self, request: Request<CreateMovieRequest>) -> Result<Response<Movie>, Status> {
        self.authorize(&request, SCOPE_WRITE).await?;
        let input = from_proto(request.into_inner().movie)?;
        let (movie, event_id) = self
            .state
            .db
            .insert_with_event(input, crate::now_rfc3339())
            .await?;
        Ok(with_event_id(Response::new(to_proto(movie)), &event_id))
    }

    async fn update_movie(&self, request: Request<UpdateMovieRequest>) -> Result<Response<Movie>, Status> {
        self.authorize(&request, SCOPE_WRITE).await?;
        let req = request.into_inner();
        let id = parse_id(&req.id)?;
        let input = from_proto(req.movie)?;
        let (movie, event_id) = self
            .state
            .db
            .update_with_event(id, input, crate::now_rfc3339())
            .await?
            .ok_or_else(not_found)?;
        Ok(with_event_id(Response::new(to_proto(movie)), &event_id))
    }

    async fn delete_movie(
        &self,
        request: Request<DeleteMovieRequest>,
    ) -> Result<Response<DeleteMovieResponse>, Status> {
        self.authorize(&request, SCOPE_WRITE).await?;
        let id = parse_id(&request.into_inner().id)?;
        match self.state.db.delete_with_event(id).await? {
            Some(event_id) => Ok(with_event_id(Response::new(DeleteMovieResponse {}), &event_id)),
            None => Err(not_found()),
        }
    }
}
