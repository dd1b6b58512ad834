//! `POST /api/{dataset}` with a JSON array, NDJSON or CSV body: an atomic
//! upsert, answered once it has committed with the writes that came with it
//! (`ingest::group`).

use crate::auth::WriteKey;
use crate::datasets::Dataset;
use crate::error::ApiError;
use crate::ingest::{self, group, BodyFormat, UploadBudget};
use crate::state::{Db, Limits, Tallies};
use actix_web::dev::Decompress;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::ResponseError;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use std::time::Instant;

/// Bodies up to this size are checked on the executor (see [`push`]).
const CHECK_INLINE_BYTES: usize = 16 * 1024;

pub async fn push(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    _key: WriteKey,
    db: web::Data<Db>,
    limits: web::Data<Limits>,
    tallies: web::Data<Tallies>,
) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let name = path.into_inner();
    let dataset = super::dataset_for(&name, Dataset::is_pushable, "write", super::wrong_method)?;
    let written = async {
        let body = read_body(
            &req,
            payload,
            &limits.uploads,
            limits.max_body_bytes,
            limits.body_timeout,
        )
        .await?;
        write(&db, dataset, body, started).await
    }
    .await;
    let written = written.inspect_err(|error| {
        tallies
            .metrics
            .write_refused(dataset.name(), error.status_code().as_u16())
    })?;
    tallies.wrote(written.dataset, written.rows, written.stamp);
    Ok(HttpResponse::Ok().json(written))
}

/// Checks and commits one write's body, and logs it.
async fn write(
    db: &Db,
    dataset: Dataset,
    Body {
        bytes: body,
        format,
        admission,
    }: Body,
    started: Instant,
) -> Result<ingest::Written, ApiError> {
    let bytes = body.len();
    let catalog = db.catalog.current();
    // Every row is read and checked before the write is queued, so that a
    // bad row is this request's 422 and never its group's. The committer
    // reads the rows again as it writes them, so memory holds the body and
    // a chunk of rows.
    let check = move || {
        let rows = ingest::validate(catalog.shape(dataset), format, &body)?;
        Ok::<_, ApiError>(group::Write {
            catalog,
            dataset,
            format,
            body,
            rows,
            admission: Some(admission),
        })
    };
    // A few rows take microseconds to check: less than the trip to a
    // blocking thread and back. Larger bodies are checked off the executor.
    let write = if bytes <= CHECK_INLINE_BYTES {
        check()?
    } else {
        web::block(check).await??
    };
    let written = db.writes.write(write).await?;
    log::info!(
        "POST /api/{} rows={} bytes={} duration_ms={}",
        written.dataset,
        written.rows,
        bytes,
        started.elapsed().as_millis()
    );
    Ok(written)
}

/// A write's body, read whole, with its format and its place in the upload
/// budget.
pub(super) struct Body {
    pub bytes: Bytes,
    pub format: BodyFormat,
    pub admission: ingest::Admission,
}

/// Reads a write's body up to `limit` bytes, refusing early when
/// Content-Length already says it is too large. A compressed body is decoded
/// as it comes in, and the limit applies to what it decodes to. A body not
/// received whole within `timeout` is refused: its place among the uploads
/// is given back, whatever its client does.
pub(super) async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    uploads: &std::sync::Arc<UploadBudget>,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Body, ApiError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let too_large = ApiError::PayloadTooLarge { limit };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large);
    }
    let encoding = compressed(req)?;
    let mut chunks: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> = if encoding.is_some()
    {
        Box::pin(Decompress::from_headers(
            payload.into_inner(),
            req.headers(),
        ))
    } else {
        Box::pin(payload.into_inner())
    };
    // Bodies in flight share one budget, in count and in bytes: past it a
    // write gets 503 and retries later, and the server never runs out of
    // memory however many large batches arrive at once.
    let mut admission = uploads.admit()?;
    admission.could_hold(declared.unwrap_or(0))?;
    // Address space for the declared length, which costs memory only as
    // bytes fill it: the budget counts those.
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    loop {
        let next = tokio::time::timeout_at(deadline, chunks.next()).await;
        let Ok(next) = next else {
            return Err(ApiError::BodyTimeout {
                seconds: timeout.as_secs(),
            });
        };
        let Some(chunk) = next else { break };
        // In the client's terms: the framework's own words name its types.
        let chunk = chunk.map_err(|_| {
            ApiError::MalformedBody(match encoding {
                Some(encoding) => format!(
                    "the body is not valid {encoding} (Content-Encoding: {encoding}): send it compressed whole, or uncompressed"
                ),
                None => "the body could not be read whole: the connection broke, or it was shorter than its Content-Length".to_string(),
            })
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        admission.reserve((body.len() + chunk.len()).saturating_sub(admission.reserved()))?;
        body.extend_from_slice(&chunk);
    }

    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = BodyFormat::from_content_type(content_type, &body)?;
    Ok(Body {
        bytes: body.freeze(),
        format,
        admission,
    })
}

/// How the body is compressed (`Content-Encoding: gzip` or `deflate`), if
/// it is; any other encoding is a 415 rather than a body read as garbage.
fn compressed(req: &HttpRequest) -> Result<Option<&'static str>, ApiError> {
    let Some(encoding) = req.headers().get(header::CONTENT_ENCODING) else {
        return Ok(None);
    };
    let encoding = encoding.to_str().unwrap_or("").trim().to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => Ok(None),
        "gzip" | "x-gzip" => Ok(Some("gzip")),
        "deflate" => Ok(Some("deflate")),
        _ => Err(ApiError::UnsupportedMediaType(format!(
            "cannot read a body with Content-Encoding '{encoding}': send it uncompressed, gzip or deflate"
        ))),
    }
}
