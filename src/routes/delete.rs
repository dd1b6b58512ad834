//! `DELETE /api/{dataset}/{id}` and `POST /api/{dataset}/deletions`:
//! deleting rows by key, recorded in the `deletions` feed (see
//! `ingest::delete`).

use super::push::{read_body, Body};
use crate::auth::Scope;
use crate::datasets::column::Raw;
use crate::datasets::Dataset;
use crate::error::ApiError;
use crate::ingest::delete::{self, Deleted};
use crate::startup::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

/// Body bytes a batch delete may send: room for [`delete::MAX_DELETE_KEYS`]
/// keys of the longest kind, quoted.
const MAX_DELETE_BODY_BYTES: usize = 16 * 1024 * 1024;

/// `DELETE /api/{dataset}/{id}`: 204, or 404 when no row has that key.
pub async fn delete_one(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.keys.require(&req, Scope::Write).await?;
    let (name, id) = path.into_inner();
    // A dataset that is pulled but never deleted from: this path is its count.
    if id == "count" && Dataset::from_name(&name).is_some_and(|d| !d.is_deletable()) {
        return Err(ApiError::MethodNotAllowed {
            allow: "GET",
            hint: format!("; GET /api/{name}/count counts a window's rows"),
        });
    }
    let dataset = deletable(&name)?;
    let catalog = state.catalog.current();
    let shape = catalog.shape(dataset);
    let key = shape.columns[shape.key].clone();
    if let Err(reason) = key.parse(Raw::Text(&id)) {
        return Err(ApiError::InvalidParameter {
            parameter: "id",
            reason: format!("(the path's last segment) {reason}"),
        });
    }
    let deleted = run(&state, catalog.clone(), dataset, vec![id.clone()]).await?;
    if deleted.deleted == 0 {
        return Err(ApiError::RowNotFound(format!(
            "no {name} row has {} '{id}' (it may have been deleted already)",
            key.name
        )));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/{dataset}/deletions`: many keys, deleted in one transaction.
pub async fn delete_batch(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    state.keys.require(&req, Scope::Write).await?;
    let name = path.into_inner();
    let dataset = deletable(&name)?;
    let Body {
        bytes,
        format,
        admission,
    } = read_body(
        &req,
        payload,
        &state,
        MAX_DELETE_BODY_BYTES.min(state.max_body_bytes),
    )
    .await?;
    let catalog = state.catalog.current();
    let shape_catalog = catalog.clone();
    let keys = web::block(move || delete::parse_keys(shape_catalog.shape(dataset), format, &bytes))
        .await??;
    drop(admission);
    let deleted = run(&state, catalog, dataset, keys).await?;
    Ok(HttpResponse::Ok().json(deleted))
}

/// Deletes `keys` off the executor, on the write pool.
async fn run(
    state: &AppState,
    catalog: std::sync::Arc<crate::datasets::catalog::Catalog>,
    dataset: Dataset,
    keys: Vec<String>,
) -> Result<Deleted, ApiError> {
    let (pool, clock) = (state.pools.write.clone(), state.clock.clone());
    let deleted = web::block(move || {
        let mut conn = pool.get()?;
        delete::delete(&mut conn, clock.as_ref(), catalog.shape(dataset), &keys)
    })
    .await
    .map_err(ApiError::from)
    .and_then(|deleted| Ok(deleted?));
    // Deletions are written to the deletions feed, and counted there.
    let feed = "deletions";
    let deleted = deleted.inspect_err(|error| {
        let status = actix_web::ResponseError::status_code(error).as_u16();
        state.metrics.write_refused(feed, status)
    })?;
    state.wrote(feed, deleted.deleted, deleted.stamp);
    log::info!(
        "deleted {} {} row(s), {} not found",
        deleted.deleted,
        deleted.dataset,
        deleted.not_found
    );
    Ok(deleted)
}

/// The dataset named `name`, if its rows can be deleted.
fn deletable(name: &str) -> Result<Dataset, ApiError> {
    super::dataset_for(name, Dataset::is_deletable, "delete from", |dataset| {
        ApiError::NotFound(format!(
            "{} rows are not deleted by key: {}",
            dataset.name(),
            match dataset.def().role {
                crate::datasets::Role::Computed { written_as } => {
                    format!("they are computed; delete their {written_as}")
                }
                _ => "they are kept by hourglass".to_string(),
            }
        ))
    })
}
