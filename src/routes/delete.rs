//! `DELETE /api/{dataset}/{id}` and `POST /api/{dataset}/deletions`:
//! deleting rows by key, recorded in the `deletions` feed (see
//! `ingest::delete`).

use super::push::{read_body, Body};
use crate::auth::WriteKey;
use crate::datasets::column::Raw;
use crate::datasets::Dataset;
use crate::error::ApiError;
use crate::ingest::delete::{self, Deleted};
use crate::state::{Db, Limits, Tallies};
use actix_web::{web, HttpRequest, HttpResponse};

/// Body bytes a batch delete may send: room for [`delete::MAX_DELETE_KEYS`]
/// keys of the longest kind, quoted.
const MAX_DELETE_BODY_BYTES: usize = 16 * 1024 * 1024;

/// `DELETE /api/{dataset}/{id}`: 204, or 404 when no row has that key.
pub async fn delete_one(
    path: web::Path<(String, String)>,
    _key: WriteKey,
    db: web::Data<Db>,
    tallies: web::Data<Tallies>,
) -> Result<HttpResponse, ApiError> {
    let (name, id) = path.into_inner();
    let dataset = deletable(&name)?;
    let catalog = db.catalog.current();
    let shape = catalog.shape(dataset);
    let key = shape.columns[shape.key].clone();
    if let Err(reason) = key.parse(Raw::Text(&id)) {
        return Err(ApiError::InvalidParameter {
            parameter: "id",
            reason: format!("(the path's last segment) {reason}"),
        });
    }
    let deleted = run(&db, &tallies, catalog.clone(), dataset, vec![id.clone()]).await?;
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
    _key: WriteKey,
    db: web::Data<Db>,
    limits: web::Data<Limits>,
    tallies: web::Data<Tallies>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let dataset = deletable(&name)?;
    let Body {
        bytes,
        format,
        admission,
    } = read_body(
        &req,
        payload,
        &limits.uploads,
        MAX_DELETE_BODY_BYTES.min(limits.max_body_bytes),
        limits.body_timeout,
    )
    .await?;
    let catalog = db.catalog.current();
    let shape_catalog = catalog.clone();
    let keys = web::block(move || delete::parse_keys(shape_catalog.shape(dataset), format, &bytes))
        .await??;
    drop(admission);
    let deleted = run(&db, &tallies, catalog, dataset, keys).await?;
    Ok(HttpResponse::Ok().json(deleted))
}

/// Deletes `keys` off the executor, on the write pool.
async fn run(
    db: &Db,
    tallies: &Tallies,
    catalog: std::sync::Arc<crate::datasets::catalog::Catalog>,
    dataset: Dataset,
    keys: Vec<String>,
) -> Result<Deleted, ApiError> {
    let (pool, clock) = (db.pools.write.clone(), db.clock.clone());
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
        tallies.metrics.write_refused(feed, status)
    })?;
    tallies.wrote(feed, deleted.deleted, deleted.stamp);
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
