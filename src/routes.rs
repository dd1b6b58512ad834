//! The one route table.
//!
//! | method | path              | handler        | key scope |
//! |--------|-------------------|----------------|-----------|
//! | GET    | `/`               | [`page::index`] | read (HTTP Basic) |
//! | GET    | `/assets/{file}`  | [`page::asset`] | none     |
//! | GET    | `/health`         | [`health`]     | none      |
//! | GET    | `/metrics`        | [`metrics::metrics`] | read |
//! | GET    | `/openapi.yaml`   | [`openapi`]    | none      |
//! | GET    | `/api/schema`     | [`schema::schema`] | read  |
//! | GET    | `/api/stats`      | [`stats::stats`] | read    |
//! | GET    | `/api/{dataset}`  | [`pull::pull`] | read      |
//! | GET    | `/api/{dataset}/count` | [`pull::count`] | read |
//! | POST   | `/api/{dataset}`  | [`push::push`] | write     |
//! | DELETE | `/api/{dataset}/{id}` | [`delete::delete_one`] | write |
//! | POST   | `/api/{dataset}/deletions` | [`delete::delete_batch`] | write |
//! | POST   | `/api/players/{id}/erase` | [`erase::erase`] | write |
//! | GET    | `/api/players/{id}/activity` | [`pull::activity`] | read |
//!
//! A dataset's count has a resource of its own, before its rows': in the
//! datasets whose rows are deleted by key, `DELETE /api/{dataset}/count`
//! still deletes the row whose id is `count`. A known path asked with
//! another method is a 405 with `Allow`; anything else is a problem+json 404.
//!
//! Logging: a pull logs its line when its stream ends (rows, bytes,
//! duration, outcome), a write when it has committed; the `/api` scope logs
//! every rejected request here, by kind and field but never with the values
//! involved. Other paths get the access log (startup.rs), which leaves query
//! strings out.

mod delete;
mod erase;
mod health;
mod metrics;
mod page;
mod pull;
mod push;
mod schema;
mod stats;

use crate::error::ApiError;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use actix_web::{guard, web, HttpRequest, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(only(web::resource("/"), "GET").route(web::get().to(page::index)))
        .service(only(web::resource("/assets/{file}"), "GET").route(web::get().to(page::asset)))
        .service(only(web::resource("/health"), "GET").route(web::get().to(health::health)))
        .service(only(web::resource("/metrics"), "GET").route(web::get().to(metrics::metrics)))
        .service(only(web::resource("/openapi.yaml"), "GET").route(web::get().to(openapi)))
        .service(
            web::scope("/api")
                .wrap_fn(|req, service| {
                    let method = req.method().clone();
                    let response = service.call(req);
                    async move {
                        let response = response.await?;
                        if let Some(error) = response.response().error() {
                            let line = format!("{method} {}", loggable_path(response.request()));
                            let summary = match error.as_error::<ApiError>() {
                                Some(error) => error.summary(),
                                None => "rejected by the framework".to_string(),
                            };
                            let status = response.status().as_u16();
                            // Wrong keys and throttled clients can come by the
                            // thousand a second: those lines are for debugging
                            // (the key guard warns once per throttled burst).
                            let level = if matches!(status, 401 | 429) {
                                log::Level::Debug
                            } else {
                                log::Level::Info
                            };
                            log::log!(level, "{line} rejected {status}: {summary}");
                        }
                        Ok(response)
                    }
                })
                .service(only(web::resource("/schema"), "GET").route(web::get().to(schema::schema)))
                .service(only(web::resource("/stats"), "GET").route(web::get().to(stats::stats)))
                .service(
                    only(web::resource("/players/{id}/activity"), "GET")
                        .route(web::get().to(pull::activity)),
                )
                .service(
                    only(web::resource("/players/{id}/erase"), "POST")
                        .route(web::post().to(erase::erase)),
                )
                .service(
                    only(web::resource("/{dataset}/deletions"), "POST")
                        .route(web::post().to(delete::delete_batch)),
                )
                .service(
                    // A dataset's count, before its rows: `count` is no
                    // row's path, but in the datasets deleted by key a row
                    // whose id is `count` is still deleted here.
                    only(web::resource("/{dataset}/count"), "GET")
                        .route(web::get().to(pull::count))
                        .route(
                            web::delete()
                                .guard(guard::fn_guard(|ctx| {
                                    !names_undeletable_dataset(ctx.head().uri.path())
                                }))
                                .to(delete::delete_one),
                        ),
                )
                .service(
                    web::resource("/{dataset}/{id:.*}")
                        .route(web::delete().to(delete::delete_one))
                        .default_service(web::to(row_methods)),
                )
                .service(
                    web::resource("/{dataset}")
                        .route(web::get().to(pull::pull))
                        .route(web::post().to(push::push))
                        .default_service(web::to(dataset_methods)),
                ),
        )
        .default_service(web::to(not_found));
}

/// A resource that answers any method but `allow` with 405 and `Allow`.
fn only(resource: actix_web::Resource, allow: &'static str) -> actix_web::Resource {
    resource.default_service(web::to(move || async move {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed {
            allow,
            hint: String::new(),
        })
    }))
}

/// Any other method on `/api/{dataset}/{id}`: 405, DELETE being the one
/// it takes (a GET is told where a window's count is).
async fn row_methods(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let name = req.match_info().get("dataset").unwrap_or_default();
    Err(ApiError::MethodNotAllowed {
        allow: "DELETE",
        hint: if req.method() == Method::GET {
            format!("; GET /api/{name}/count counts a window's rows")
        } else {
            String::new()
        },
    })
}

/// Whether `/api/<dataset>/count` names a dataset whose rows are not
/// deleted by key (its count path takes GET only).
fn names_undeletable_dataset(path: &str) -> bool {
    let name = path.rsplit('/').nth(1).unwrap_or_default();
    crate::datasets::Dataset::from_name(name).is_some_and(|dataset| !dataset.is_deletable())
}

/// Counts an answered request in the metrics, under its route's pattern
/// (`/api/{dataset}`), never its URL.
pub fn measured<B>(response: &ServiceResponse<B>, took: std::time::Duration) {
    let request = response.request();
    let Some(tallies) = request.app_data::<web::Data<crate::state::Tallies>>() else {
        return;
    };
    let route = request.match_pattern().map(|pattern| label(&pattern));
    tallies.metrics.request(
        route.as_deref().unwrap_or("unmatched"),
        request.method().as_str(),
        response.status().as_u16(),
        took,
    );
}

/// A request's path as a log line shows it: its route's pattern, with the
/// dataset's name where the path names one (`/api/users/<id>`), never a
/// segment the client chose: a key pasted into a path, a row's or a
/// player's id, anything in a path no route takes. (Query strings never
/// reach a log either: they may carry a key.)
pub fn loggable_path(request: &HttpRequest) -> String {
    let Some(pattern) = request.match_pattern() else {
        return if request.path().starts_with("/api/") {
            "/api/<no route>".to_string()
        } else {
            "<no route>".to_string()
        };
    };
    let path = label(&pattern);
    match request
        .match_info()
        .get("dataset")
        .and_then(crate::datasets::Dataset::from_name)
    {
        Some(dataset) => path.replacen("<dataset>", dataset.name(), 1),
        None => path,
    }
}

/// A route pattern as a label: `/api/{dataset}/{id:.*}` → `/api/<dataset>/<id>`
/// (braces in a label value trip up lenient parsers).
fn label(pattern: &str) -> String {
    let mut label = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        label.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |i| open + i);
        let name = rest[open + 1..close].split(':').next().unwrap_or_default();
        label.push_str(&format!("<{name}>"));
        rest = rest.get(close + 1..).unwrap_or_default();
    }
    label.push_str(rest);
    label
}

/// Any other method on `/api/{dataset}`: 405 (or 404 for no such dataset).
async fn dataset_methods(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let name = req.match_info().get("dataset").unwrap_or_default();
    let dataset = crate::datasets::Dataset::from_name(name)
        .ok_or_else(|| ApiError::UnknownDataset(format!("no dataset named '{name}'")))?;
    Err(wrong_method(dataset))
}

/// The dataset `name`, if `usable` says the request may use it. A dataset
/// that is not gets `refuse`'s answer; no dataset at all, a 404 listing
/// those the request could have named ("pull one of: …").
pub(crate) fn dataset_for(
    name: &str,
    usable: fn(crate::datasets::Dataset) -> bool,
    doing: &str,
    refuse: impl FnOnce(crate::datasets::Dataset) -> ApiError,
) -> Result<crate::datasets::Dataset, ApiError> {
    use crate::datasets::Dataset;
    match Dataset::from_name(name) {
        Some(dataset) if usable(dataset) => Ok(dataset),
        Some(dataset) => Err(refuse(dataset)),
        None => Err(ApiError::UnknownDataset(format!(
            "no dataset named '{name}'; {doing} one of: {}",
            Dataset::names_where(usable)
        ))),
    }
}

/// A method `dataset` does not take: 405 with the methods it does (game
/// actions are only written, game sessions only pulled), and where to go.
pub(crate) fn wrong_method(dataset: crate::datasets::Dataset) -> ApiError {
    use crate::datasets::Role;
    let name = dataset.name();
    let (allow, hint) = match dataset.def().role {
        Role::Stored => ("GET, POST", String::new()),
        Role::WriteOnly { pulled_as } => (
            "POST",
            format!("; {name} are pulled as GET /api/{pulled_as}"),
        ),
        Role::Computed { written_as } => (
            "GET",
            format!("; {name} are computed: write them as POST /api/{written_as}"),
        ),
        Role::Feed => (
            "GET",
            format!("; {name} are recorded by DELETE /api/<dataset>/<id> and POST /api/<dataset>/deletions"),
        ),
    };
    ApiError::MethodNotAllowed { allow, hint }
}

/// `GET /openapi.yaml`: the API's description, as built into this binary.
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(include_str!("../openapi.yaml"))
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "nothing at {} {}; datasets are pulled with GET /api/<dataset>?from=...&to=... and written with POST /api/<dataset>",
        req.method(),
        req.path()
    )))
}
