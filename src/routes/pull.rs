//! `GET /api/{dataset}?from=…&to=…[&format=csv|json|ndjson][&download=1]`,
//! `GET /api/{dataset}/count?from=…&to=…`, and
//! `GET /api/players/{id}/activity`, a player's rows in every dataset
//! (`start`/`end` are synonyms of `from`/`to`; see `window.rs`).

use crate::auth::ReadKey;
use crate::datasets::column::check_id;
use crate::datasets::Dataset;
use crate::error::ApiError;
use crate::retention;
use crate::state::{Db, Limits, Tallies};
use crate::stream::{self, Pulling, What};
use crate::timestamp::TimeWindow;
use crate::visibility;
use crate::window::Format;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpRequest, HttpResponse};

/// The query parameters a pull understands. Any other is refused, so that a
/// misspelt or unsupported filter (`&player_id=5`, `&limit=10`) never
/// silently returns the whole window; a CRM's own parameters, such as a
/// signature, are allowed by name with `--allow-param`.
#[derive(Debug, Default)]
struct PullParams {
    /// `from` or its synonym `start`, with the name it came as.
    from: Option<(&'static str, String)>,
    /// `to` or its synonym `end`.
    to: Option<(&'static str, String)>,
    format: Option<(&'static str, String)>,
    download: Option<(&'static str, String)>,
}

impl PullParams {
    fn parse(query: &str, extra: &[String]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query).map_err(|error| ApiError::InvalidParameter {
                parameter: "query",
                reason: format!("cannot be decoded: {error}"),
            })?;
        let mut params = PullParams::default();
        for (name, value) in pairs {
            let (parameter, slot) = match name.as_str() {
                "from" => ("from", &mut params.from),
                "start" => ("start", &mut params.from),
                "to" => ("to", &mut params.to),
                "end" => ("end", &mut params.to),
                "format" => ("format", &mut params.format),
                "download" => ("download", &mut params.download),
                _ if extra.contains(&name) => continue,
                _ => {
                    let hint = format!(
                        "a pull takes from (or start), to (or end), format and download{}",
                        if extra.is_empty() {
                            " (an operator can allow more with --allow-param)".to_string()
                        } else {
                            format!(", and ignores {}", extra.join(", "))
                        }
                    );
                    return Err(ApiError::UnknownParameter { name, hint });
                }
            };
            if let Some((first, _)) = slot.replace((parameter, value)) {
                return Err(ApiError::InvalidParameter {
                    parameter,
                    reason: if first == parameter {
                        "is given more than once".into()
                    } else {
                        format!("and '{first}' name the same bound: give one of them")
                    },
                });
            }
        }
        Ok(params)
    }
}

/// A parameter as given: the name it came as, and its value.
fn given<'a>(param: &'a Option<(&'static str, String)>) -> Option<(&'static str, &'a str)> {
    param.as_ref().map(|(name, value)| (*name, value.as_str()))
}

pub async fn pull(
    req: HttpRequest,
    path: web::Path<String>,
    ReadKey(key): ReadKey,
    db: web::Data<Db>,
    limits: web::Data<Limits>,
    tallies: web::Data<Tallies>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let dataset = super::dataset_for(&name, Dataset::is_pullable, "pull", super::wrong_method)?;
    let params = PullParams::parse(req.query_string(), &limits.extra_params)?;
    let window = TimeWindow::from_params(given(&params.from), given(&params.to))?;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    refuse_purged(&db, &limits, dataset, window)?;
    let format = Format::negotiate(given(&params.format).map(|(_, v)| v), accept)?;
    let pull = Pull {
        file: file_name(dataset.name(), window, format),
        download: download(&params)?,
        what: What::Dataset(dataset),
        window,
        format,
    };
    serve(&db, &limits, &tallies, &key, pull).await
}

/// `GET /api/{dataset}/count?from=…&to=…`: how many rows the same pull
/// would return, counted on the window's index, under the same no-miss
/// rules (so the count and the download agree).
pub async fn count(
    req: HttpRequest,
    path: web::Path<String>,
    ReadKey(key): ReadKey,
    db: web::Data<Db>,
    limits: web::Data<Limits>,
    tallies: web::Data<Tallies>,
) -> Result<HttpResponse, ApiError> {
    let name = path.into_inner();
    let dataset = super::dataset_for(&name, Dataset::is_pullable, "count", super::wrong_method)?;
    let params = PullParams::parse(req.query_string(), &limits.extra_params)?;
    if let Some((parameter, _)) = given(&params.format).or(given(&params.download)) {
        return Err(ApiError::InvalidParameter {
            parameter,
            reason: "is not taken by a count, which answers JSON".into(),
        });
    }
    let window = TimeWindow::from_params(given(&params.from), given(&params.to))?;
    refuse_purged(&db, &limits, dataset, window)?;
    // A count holds a read connection for a moment: it takes a place
    // among the key's streams like a pull.
    let _permit = limits.streams.acquire(&key)?;
    let settle_wait = settled(&db, &tallies, window.to()).await?;
    let (pool, catalog) = (db.pools.read.clone(), db.catalog.current());
    let rows = web::block(move || {
        let mut conn = pool.get()?;
        Ok::<_, ApiError>(catalog.shape(dataset).count(&mut conn, window)?)
    })
    .await??;
    Ok(HttpResponse::Ok()
        .insert_header(("Server-Timing", server_timing(settle_wait)))
        .json(serde_json::json!({
            "dataset": dataset.name(),
            "from": window.from(),
            "to": window.to(),
            "rows": rows,
        })))
}

/// The no-miss rules (visibility.rs): waits until `to` has passed and no
/// write in flight can still add to a window ending there. Returns how long
/// the writes in flight took, which the metrics count.
async fn settled(
    db: &Db,
    tallies: &Tallies,
    to: crate::timestamp::Timestamp,
) -> Result<std::time::Duration, ApiError> {
    visibility::wait_until_past(db.clock.as_ref(), to).await?;
    let settle_wait = visibility::settle(&db.pools, to).await?;
    tallies.metrics.settle(settle_wait);
    Ok(settle_wait)
}

/// A window that reaches back past what a dataset keeps would miss rows,
/// silently, and is refused: the deletions feed keeps its records for a
/// while only, and a retained dataset (`--retain`) its rows.
fn refuse_purged(
    db: &Db,
    limits: &Limits,
    dataset: Dataset,
    window: TimeWindow,
) -> Result<(), ApiError> {
    let now = db.clock.now();
    if dataset.def().role == crate::datasets::Role::Feed {
        if window.from() < limits.deletions_horizon(now) {
            let days = limits.deletions_retention.as_secs() / 86_400;
            return Err(ApiError::DeletionsPurged(format!(
                "deletions are kept {days} days and this window starts before that: \
                 resync every dataset in full, then pull deletions from the time the resync began"
            )));
        }
        return Ok(());
    }
    match limits.retention.horizon(dataset, now) {
        Some(horizon) if window.from() < horizon => {
            let name = dataset.name();
            let kept = match limits.retention.age(dataset) {
                Some(age) => format!("{name} are kept {}", retention::describe_age(age)),
                None => format!("{name} are kept for a while only (another server purges them)"),
            };
            Err(ApiError::WindowPurged(format!(
                "{kept} and rows stamped before {horizon} (the horizon) are purged: \
                 this window starts before it; pull windows that start at or after the horizon"
            )))
        }
        _ => Ok(()),
    }
}

/// How long a pull waited for writes in flight, in milliseconds.
fn server_timing(settle_wait: std::time::Duration) -> String {
    format!("settle;dur={:.3}", settle_wait.as_secs_f64() * 1000.0)
}

/// `GET /api/players/{id}/activity`: the player's rows in every dataset, in
/// time order, as JSON (or NDJSON); the last 24 hours without a window.
pub async fn activity(
    req: HttpRequest,
    path: web::Path<String>,
    ReadKey(key): ReadKey,
    db: web::Data<Db>,
    limits: web::Data<Limits>,
    tallies: web::Data<Tallies>,
) -> Result<HttpResponse, ApiError> {
    let player = path.into_inner();
    if let Err(reason) = check_id(&player) {
        return Err(ApiError::InvalidParameter {
            parameter: "id",
            reason: format!("(the player's id, in the path) {reason}"),
        });
    }
    let params = PullParams::parse(req.query_string(), &limits.extra_params)?;
    // A missing bound is filled in: the window ends now, and spans a day.
    let window = TimeWindow::from_params_or(
        given(&params.from),
        given(&params.to),
        db.clock.now(),
        ACTIVITY_DEFAULT,
    )?;
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    // Rows of many datasets have many columns: JSON unless NDJSON is asked for.
    let format = match (
        given(&params.format),
        Format::negotiate(given(&params.format).map(|(_, v)| v), accept)?,
    ) {
        (Some(_), Format::Csv) => {
            return Err(ApiError::InvalidParameter {
                parameter: "format",
                reason: "('csv') cannot hold rows of many datasets: use json or ndjson".into(),
            })
        }
        (None, Format::Csv) => Format::Json,
        (_, format) => format,
    };
    let pull = Pull {
        file: file_name("activity", window, format),
        download: download(&params)?,
        what: What::Activity { player },
        window,
        format,
    };
    serve(&db, &limits, &tallies, &key, pull).await
}

/// A player's activity without a window: the last day.
const ACTIVITY_DEFAULT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// `download=1|0|true|false`.
fn download(params: &PullParams) -> Result<bool, ApiError> {
    match given(&params.download).map(|(_, v)| v) {
        None | Some("0") | Some("false") => Ok(false),
        Some("1") | Some("true") => Ok(true),
        Some(other) => Err(ApiError::InvalidParameter {
            parameter: "download",
            reason: format!("('{other}') must be 1 or 0"),
        }),
    }
}

/// A pull, as its request asked for it.
struct Pull {
    what: What,
    window: TimeWindow,
    format: Format,
    /// The name the response gives the file.
    file: String,
    /// As an attachment (`download=1`), which a browser saves.
    download: bool,
}

/// Streams a pull's rows under the no-miss rules: the response of every
/// pull, named after its file.
async fn serve(
    db: &Db,
    limits: &Limits,
    tallies: &Tallies,
    key: &str,
    Pull {
        what,
        window,
        format,
        file,
        download,
    }: Pull,
) -> Result<HttpResponse, ApiError> {
    // Taken before any wait, held by the producer until it has returned its
    // connection.
    let permit = limits.streams.acquire(key)?;

    let settle_wait = settled(db, tallies, window.to()).await?;

    let catalog = db.catalog.current();
    // The window's columns, in order, even when it holds no row (an empty
    // JSON array names none): what an analyst's data frame is built from.
    let columns = match &what {
        What::Dataset(dataset) => Some(
            catalog
                .shape(*dataset)
                .columns
                .iter()
                .map(|c| c.name.as_ref())
                .collect::<Vec<_>>()
                .join(","),
        ),
        What::Activity { .. } => None,
    };
    let pulling = Pulling {
        catalog,
        what,
        window,
        format,
        settle_wait,
        metrics: tallies.metrics.clone(),
    };
    let body = stream::start(
        db.pools.read.clone(),
        pulling,
        limits.send_timeout,
        tallies.stopping.clone(),
        permit,
    )
    .await?;

    let mut response = HttpResponse::Ok();
    response.insert_header((header::CONTENT_TYPE, format.content_type()));
    response.insert_header(("Server-Timing", server_timing(settle_wait)));
    if let Some(columns) = columns {
        response.insert_header(("X-Columns", columns));
    }
    // Named either way, so that `curl -OJ` saves the window under its name;
    // with download=1, as an attachment, so that a browser saves it too.
    response.insert_header(ContentDisposition {
        disposition: if download {
            DispositionType::Attachment
        } else {
            DispositionType::Inline
        },
        parameters: vec![DispositionParam::Filename(file)],
    });
    Ok(match body {
        Some(body) => response.streaming(body),
        None => response.finish(),
    })
}

/// `transactions_2020-10-10T070000_2020-10-10T080000.csv`: the dataset and
/// the window, with no characters a file system dislikes.
fn file_name(name: &str, window: TimeWindow, format: Format) -> String {
    let stamp = |t: crate::timestamp::Timestamp| t.to_string().replace(' ', "T").replace(':', "");
    format!(
        "{}_{}_{}.{}",
        name,
        stamp(window.from()),
        stamp(window.to()),
        format.extension()
    )
}
