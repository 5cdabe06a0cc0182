//! catalog's gRPC API (`catalog.v1.MovieService`) over real HTTP/2 with the generated tonic
//! client: every rpc, the status codes, and agreement with REST.

use serde_json::{Value, json};
use stack_catalog::proto::movie_service_client::MovieServiceClient;
use stack_catalog::proto::{
    CreateMovieRequest, DeleteMovieRequest, GetMovieRequest, ListMoviesRequest, Movie, MovieInput,
    UpdateMovieRequest,
};
use tonic::Code;
use tonic::transport::Channel;

use crate::support::{self, Call, authed, movie_input, movie_path, parse_time};

const UNKNOWN_ID: &str = "5d1c9e7a-2b3f-4c8d-9e0f-1a2b3c4d5e6f";

fn input(title: &str, year: i32, genres: &[&str], rating: Option<f64>) -> MovieInput {
    MovieInput {
        title: title.into(),
        year,
        genres: genres.iter().map(|g| g.to_string()).collect(),
        rating,
    }
}

/// A gRPC movie as the REST API shows it.
fn as_json(m: &Movie) -> Value {
    let mut v = json!({
        "id": m.id,
        "title": m.title,
        "year": m.year,
        "genres": m.genres,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
    });
    if let Some(rating) = m.rating {
        v["rating"] = json!(rating);
    }
    v
}

async fn list(
    client: &mut MovieServiceClient<Channel>,
    token: &str,
    request: ListMoviesRequest,
) -> Result<Vec<Movie>, tonic::Status> {
    let mut stream = client.list_movies(authed(request, token)).await?.into_inner();
    let mut movies = Vec::new();
    while let Some(movie) = stream.message().await? {
        movies.push(movie);
    }
    Ok(movies)
}

/// A CreateMovie request with a valid input (title "T", 2000): for calls that must be refused
/// before the input matters.
fn create_t() -> CreateMovieRequest {
    CreateMovieRequest {
        movie: Some(input("T", 2000, &[], None)),
    }
}

/// An UpdateMovie request giving movie `id` a valid input (title "T", 2000).
fn update_to_t(id: &str) -> UpdateMovieRequest {
    UpdateMovieRequest {
        id: id.to_string(),
        movie: Some(input("T", 2000, &[], None)),
    }
}

fn titles(movies: &[Movie]) -> Vec<&str> {
    movies.iter().map(|m| m.title.as_str()).collect()
}

#[track_caller]
fn assert_code<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: Code,
    what: &str,
) -> tonic::Status {
    match result {
        Ok(v) => panic!("{what}: expected {code:?}, got a success: {v:?}"),
        Err(status) => {
            assert_eq!(status.code(), code, "{what}: {status:?}");
            assert!(!status.message().is_empty(), "{what}: empty message");
            status
        }
    }
}

#[tokio::test]
async fn grpc_create_get_update_delete_round_trip() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let mut client = stack.grpc().await;

    let created = client
        .create_movie(authed(
            CreateMovieRequest {
                movie: Some(input("Metropolis", 1927, &["drama", "sci-fi"], Some(8.3))),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(uuid::Uuid::parse_str(&created.id).is_ok(), "{created:?}");
    assert_eq!(created.title, "Metropolis");
    assert_eq!(created.year, 1927);
    assert_eq!(created.genres, ["drama", "sci-fi"]);
    assert_eq!(created.rating, Some(8.3));
    assert_eq!(created.created_at, created.updated_at);

    let got = client
        .get_movie(authed(
            GetMovieRequest {
                id: created.id.clone(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, created);

    let updated = client
        .update_movie(authed(
            UpdateMovieRequest {
                id: created.id.clone(),
                movie: Some(input("Metropolis (restored)", 1927, &[], None)),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.title, "Metropolis (restored)");
    assert!(updated.genres.is_empty());
    assert_eq!(updated.rating, None, "an omitted rating makes the movie unrated");
    assert_eq!(updated.created_at, created.created_at);
    // Compared as times: RFC 3339 strings with trimmed fractions do not sort as text.
    assert!(
        parse_time(&updated.updated_at) >= parse_time(&created.updated_at),
        "{} < {}",
        updated.updated_at,
        created.updated_at
    );

    client
        .delete_movie(authed(
            DeleteMovieRequest {
                id: created.id.clone(),
            },
            &token,
        ))
        .await
        .unwrap();
    let gone = client
        .get_movie(authed(
            GetMovieRequest {
                id: created.id.clone(),
            },
            &token,
        ))
        .await;
    assert_code(gone, Code::NotFound, "get after delete");
    drop(client);
    stack.stop().await;
}

#[tokio::test]
async fn grpc_list_movies_streams_the_matching_movies_in_creation_order() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let films = [
        ("Alien", 1979, vec!["sci-fi", "horror"]),
        ("Aliens", 1986, vec!["sci-fi", "action"]),
        ("The Thing", 1982, vec!["sci-fi", "horror"]),
        ("Heat", 1995, vec!["crime"]),
        ("BLADE RUNNER", 1982, vec!["sci-fi"]),
    ];
    let mut rest_movies = Vec::new();
    for (title, year, genres) in &films {
        rest_movies.push(
            stack
                .create_movie(&token, &movie_input(title, *year, genres))
                .await,
        );
    }
    let mut client = stack.grpc().await;

    let all = list(&mut client, &token, ListMoviesRequest::default())
        .await
        .unwrap();
    assert_eq!(all.len(), films.len());
    let all_json: Vec<Value> = all.iter().map(as_json).collect();
    assert_eq!(
        all_json, rest_movies,
        "same movies, same order, same fields as REST"
    );

    // (limit, genre, year, title_contains) -> the titles streamed
    let cases = [
        (2, None, None, None, vec!["Alien", "Aliens"]),
        (0, Some("horror"), None, None, vec!["Alien", "The Thing"]),
        (0, Some("sci"), None, None, vec![]),
        (0, None, Some(1982), None, vec!["The Thing", "BLADE RUNNER"]),
        (0, None, None, Some("ALIEN"), vec!["Alien", "Aliens"]),
        (0, None, None, Some("runner"), vec!["BLADE RUNNER"]),
        (1, Some("sci-fi"), Some(1982), None, vec!["The Thing"]),
        (
            1000,
            None,
            None,
            None,
            vec!["Alien", "Aliens", "The Thing", "Heat", "BLADE RUNNER"],
        ),
    ];
    for (limit, genre, year, title_contains, expected) in cases {
        let request = ListMoviesRequest {
            limit,
            genre: genre.map(String::from),
            year,
            title_contains: title_contains.map(String::from),
            ..Default::default()
        };
        let what = format!("{request:?}");
        let movies = list(&mut client, &token, request).await.unwrap();
        assert_eq!(titles(&movies), expected, "{what}");
    }

    // A REST page's next_cursor continues the stream where the page ended.
    let page = stack
        .catalog
        .get("/v1/movies")
        .bearer(&token)
        .query(&[("limit", "2")])
        .send()
        .await
        .ok_json(200);
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    let rest = list(
        &mut client,
        &token,
        ListMoviesRequest {
            cursor,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(titles(&rest), ["The Thing", "Heat", "BLADE RUNNER"]);

    for (what, request) in [
        (
            "limit over 1000",
            ListMoviesRequest {
                limit: 1001,
                ..Default::default()
            },
        ),
        (
            "a cursor catalog did not issue",
            ListMoviesRequest {
                cursor: "!!!".into(),
                ..Default::default()
            },
        ),
    ] {
        assert_code(
            list(&mut client, &token, request).await,
            Code::InvalidArgument,
            what,
        );
    }
    drop(client);
    stack.stop().await;
}

#[tokio::test]
async fn grpc_list_movies_streams_more_than_one_rest_page() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let mut client = stack.grpc().await;
    let mut created = Vec::new();
    for i in 0..60 {
        let movie = client
            .create_movie(authed(
                CreateMovieRequest {
                    movie: Some(input(&format!("Movie {i:02}"), 2000, &[], None)),
                },
                &token,
            ))
            .await
            .unwrap()
            .into_inner();
        created.push(movie.id);
    }
    let default = list(&mut client, &token, ListMoviesRequest::default())
        .await
        .unwrap();
    let ids: Vec<String> = default.into_iter().map(|m| m.id).collect();
    assert_eq!(ids, created[..50], "limit 0 means the default, 50");
    let all = list(
        &mut client,
        &token,
        ListMoviesRequest {
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ids: Vec<String> = all.into_iter().map(|m| m.id).collect();
    assert_eq!(ids, created);
    drop(client);
    stack.stop().await;
}

#[tokio::test]
async fn movies_created_over_rest_are_visible_over_grpc_and_vice_versa() {
    let stack = support::start().await;
    let (token, catalog) = stack.admin_catalog().await;
    let mut client = stack.grpc().await;

    let over_rest = stack
        .create_movie(
            &token,
            &json!({"title": "Stalker", "year": 1979, "genres": ["drama"], "rating": 8.1}),
        )
        .await;
    let seen = client
        .get_movie(authed(
            GetMovieRequest {
                id: over_rest["id"].as_str().unwrap().into(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(as_json(&seen), over_rest);

    let over_grpc = client
        .create_movie(authed(
            CreateMovieRequest {
                movie: Some(input("Solaris", 1972, &["sci-fi"], None)),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let seen = catalog
        .get(&format!("/v1/movies/{}", over_grpc.id))
        .send()
        .await
        .ok_json(200);
    assert_eq!(seen, as_json(&over_grpc));

    // A REST update is seen over gRPC, a gRPC delete over REST.
    catalog
        .put(&format!("/v1/movies/{}", over_grpc.id))
        .json(&json!({"title": "Solaris", "year": 1972, "rating": 8.0}))
        .send()
        .await
        .expect(200);
    let seen = client
        .get_movie(authed(
            GetMovieRequest {
                id: over_grpc.id.clone(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(seen.rating, Some(8.0));
    assert!(seen.genres.is_empty());
    client
        .delete_movie(authed(
            DeleteMovieRequest {
                id: over_rest["id"].as_str().unwrap().into(),
            },
            &token,
        ))
        .await
        .unwrap();
    catalog
        .get(&movie_path(&over_rest))
        .send()
        .await
        .expect_error(404, "not_found");
    drop(client);
    stack.stop().await;
}

/// The REST error message for the same failure, to compare with gRPC's.
async fn rest_message(call: Call) -> String {
    let reply = call.send().await;
    reply.json()["error"]["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn grpc_invalid_ids_and_inputs_are_invalid_argument_with_the_rest_message() {
    let stack = support::start().await;
    let (token, catalog) = stack.admin_catalog().await;
    let mut client = stack.grpc().await;
    let existing = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let existing_id = existing["id"].as_str().unwrap().to_string();

    let status = assert_code(
        client
            .get_movie(authed(GetMovieRequest { id: "nope".into() }, &token))
            .await,
        Code::InvalidArgument,
        "GetMovie with a non-UUID id",
    );
    let rest = rest_message(catalog.get("/v1/movies/nope")).await;
    assert_eq!(status.message(), rest, "the same text as REST");
    assert_code(
        client
            .get_movie(authed(GetMovieRequest { id: String::new() }, &token))
            .await,
        Code::InvalidArgument,
        "GetMovie with an empty id",
    );
    assert_code(
        client
            .delete_movie(authed(DeleteMovieRequest { id: "nope".into() }, &token))
            .await,
        Code::InvalidArgument,
        "DeleteMovie with a non-UUID id",
    );
    assert_code(
        client.update_movie(authed(update_to_t("nope"), &token)).await,
        Code::InvalidArgument,
        "UpdateMovie with a non-UUID id",
    );

    let bad_inputs = [
        ("no movie", None),
        ("empty title", Some(input("", 2000, &[], None))),
        ("title too long", Some(input(&"t".repeat(201), 2000, &[], None))),
        ("year too early", Some(input("T", 1887, &[], None))),
        ("year too late", Some(input("T", 2101, &[], None))),
        ("year unset (0)", Some(input("T", 0, &[], None))),
        ("too many genres", Some(input("T", 2000, &["g"; 11], None))),
        ("empty genre", Some(input("T", 2000, &[""], None))),
        ("rating over 10", Some(input("T", 2000, &[], Some(10.5)))),
        ("negative rating", Some(input("T", 2000, &[], Some(-1.0)))),
        ("NaN rating", Some(input("T", 2000, &[], Some(f64::NAN)))),
    ];
    for (what, movie) in bad_inputs {
        assert_code(
            client
                .create_movie(authed(CreateMovieRequest { movie: movie.clone() }, &token))
                .await,
            Code::InvalidArgument,
            &format!("CreateMovie: {what}"),
        );
        assert_code(
            client
                .update_movie(authed(
                    UpdateMovieRequest {
                        id: existing_id.clone(),
                        movie,
                    },
                    &token,
                ))
                .await,
            Code::InvalidArgument,
            &format!("UpdateMovie: {what}"),
        );
    }
    let status = assert_code(
        client
            .create_movie(authed(
                CreateMovieRequest {
                    movie: Some(input("T", 1887, &[], None)),
                },
                &token,
            ))
            .await,
        Code::InvalidArgument,
        "year too early",
    );
    let rest = rest_message(catalog.post("/v1/movies").json(&movie_input("T", 1887, &[]))).await;
    assert_eq!(status.message(), rest, "the same text as REST");

    // Nothing was created or changed.
    let all = list(&mut client, &token, ListMoviesRequest::default())
        .await
        .unwrap();
    assert_eq!(all.iter().map(as_json).collect::<Vec<_>>(), [existing]);
    drop(client);
    stack.stop().await;
}

#[tokio::test]
async fn grpc_unknown_ids_are_not_found_with_the_rest_message() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let mut client = stack.grpc().await;
    let status = assert_code(
        client
            .get_movie(authed(
                GetMovieRequest {
                    id: UNKNOWN_ID.into(),
                },
                &token,
            ))
            .await,
        Code::NotFound,
        "GetMovie",
    );
    let rest = rest_message(
        stack
            .catalog
            .get(&format!("/v1/movies/{UNKNOWN_ID}"))
            .bearer(&token),
    )
    .await;
    assert_eq!(status.message(), rest);
    assert_code(
        client.update_movie(authed(update_to_t(UNKNOWN_ID), &token)).await,
        Code::NotFound,
        "UpdateMovie",
    );
    assert_code(
        client
            .delete_movie(authed(
                DeleteMovieRequest {
                    id: UNKNOWN_ID.into(),
                },
                &token,
            ))
            .await,
        Code::NotFound,
        "DeleteMovie",
    );
    drop(client);
    stack.stop().await;
}

#[tokio::test]
async fn grpc_calls_without_a_valid_token_are_unauthenticated() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let movie = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let id = movie["id"].as_str().unwrap().to_string();
    let mut client = stack.grpc().await;
    for bad in [None, Some("not-a-jwt"), Some("a.b.c")] {
        let req = |message| match bad {
            None => tonic::Request::new(message),
            Some(t) => authed(message, t),
        };
        let what = format!("token {bad:?}");
        assert_code(
            client.get_movie(req(GetMovieRequest { id: id.clone() })).await,
            Code::Unauthenticated,
            &format!("GetMovie, {what}"),
        );
        let mut stream_req = tonic::Request::new(ListMoviesRequest::default());
        if let Some(t) = bad {
            stream_req = authed(ListMoviesRequest::default(), t);
        }
        assert_code(
            client.list_movies(stream_req).await.map(|_| ()),
            Code::Unauthenticated,
            &format!("ListMovies, {what}"),
        );
        let create = create_t();
        let create = match bad {
            None => tonic::Request::new(create),
            Some(t) => authed(create, t),
        };
        assert_code(
            client.create_movie(create).await,
            Code::Unauthenticated,
            &format!("CreateMovie, {what}"),
        );
        let update = update_to_t(&id);
        let update = match bad {
            None => tonic::Request::new(update),
            Some(t) => authed(update, t),
        };
        assert_code(
            client.update_movie(update).await,
            Code::Unauthenticated,
            &format!("UpdateMovie, {what}"),
        );
        let delete = DeleteMovieRequest { id: id.clone() };
        let delete = match bad {
            None => tonic::Request::new(delete),
            Some(t) => authed(delete, t),
        };
        assert_code(
            client.delete_movie(delete).await,
            Code::Unauthenticated,
            &format!("DeleteMovie, {what}"),
        );
    }
    // Untouched.
    let still = stack
        .catalog
        .get(&format!("/v1/movies/{id}"))
        .bearer(&token)
        .send()
        .await
        .ok_json(200);
    assert_eq!(still, movie);
    drop(client);
    stack.stop().await;
}

#[tokio::test]
async fn grpc_calls_without_the_scope_are_permission_denied() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    let read_only = stack.admin_token_with_scope("movies:read").await;
    let write_only = stack.client_token(Some("movies:write")).await;
    let movie = stack.create_movie(&token, &movie_input("Alien", 1979, &[])).await;
    let id = movie["id"].as_str().unwrap().to_string();
    let mut client = stack.grpc().await;

    assert_code(
        client.create_movie(authed(create_t(), &read_only)).await,
        Code::PermissionDenied,
        "CreateMovie with movies:read",
    );
    assert_code(
        client.update_movie(authed(update_to_t(&id), &read_only)).await,
        Code::PermissionDenied,
        "UpdateMovie with movies:read",
    );
    assert_code(
        client
            .delete_movie(authed(DeleteMovieRequest { id: id.clone() }, &read_only))
            .await,
        Code::PermissionDenied,
        "DeleteMovie with movies:read",
    );
    assert_code(
        client
            .get_movie(authed(GetMovieRequest { id: id.clone() }, &write_only))
            .await,
        Code::PermissionDenied,
        "GetMovie with movies:write",
    );
    assert_code(
        list(&mut client, &write_only, ListMoviesRequest::default()).await,
        Code::PermissionDenied,
        "ListMovies with movies:write",
    );
    // The read-only token reads; nothing was changed.
    let got = client
        .get_movie(authed(GetMovieRequest { id: id.clone() }, &read_only))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(as_json(&got), movie);
    assert_eq!(
        list(&mut client, &read_only, ListMoviesRequest::default())
            .await
            .unwrap()
            .len(),
        1
    );
    drop(client);
    stack.stop().await;
}

#[tokio::test]
async fn grpc_list_movies_refuses_a_year_out_of_range_like_rest() {
    let stack = support::start().await;
    let token = stack.admin_token().await;
    stack
        .catalog
        .get("/v1/movies")
        .bearer(&token)
        .query(&[("year", "1887")])
        .send()
        .await
        .expect_error(400, "invalid_request");
    let mut client = stack.grpc().await;
    for year in [1887, 2101] {
        let request = ListMoviesRequest {
            year: Some(year),
            ..Default::default()
        };
        assert_code(
            list(&mut client, &token, request).await,
            Code::InvalidArgument,
            &format!("year {year}"),
        );
    }
    drop(client);
    stack.stop().await;
}
