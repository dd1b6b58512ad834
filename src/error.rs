//! The one error type that HTTP handlers return, and how it becomes a response.
//!
//! Only the HTTP edge (`routes/`, the key guard in `auth.rs`, the pull's
//! `stream.rs`) speaks [`ApiError`]; the modules below keep errors of their
//! own (`ParamError`, `IngestError`, `SettleError`, `StorageError`, …),
//! turned into problems by the `From` impls at the end of this file.
//!
//! Every error leaves as `application/problem+json` (RFC 9457: type, title,
//! status, detail, plus a stable `code` to branch on and a few members that
//! say which parameter, row or field was wrong); [`PROBLEMS`] lists them all. Rules for storage errors, in one place: a pool that cannot hand
//! out a connection in time, or a database that is locked or unreachable, is a
//! 503 with `Retry-After`; anything else is logged with its whole cause chain
//! and answered with an opaque 500, so internals never reach a client.

use crate::db::StorageError;
use crate::ingest::{BudgetFull, IngestError, RowError};
use crate::report::cause_chain;
use crate::visibility::SettleError;
use crate::window::ParamError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use std::error::Error as StdError;

/// The challenge that makes a browser ask for a key: its prompt shows the
/// realm, which says where the key goes.
pub const BASIC_CHALLENGE: &str =
    "Basic realm=\"hourglass: any user name, your API key as the password\", charset=\"UTF-8\"";

/// Seconds a client is asked to wait after a 503.
const RETRY_AFTER_SECONDS: u64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter is missing or malformed.
    #[error("query parameter '{parameter}' {reason}")]
    InvalidParameter {
        parameter: &'static str,
        reason: String,
    },
    /// A query parameter the endpoint does not take.
    #[error("unknown query parameter '{name}': {hint}")]
    UnknownParameter { name: String, hint: String },
    /// The request body cannot be read at all (not JSON, not CSV, ...).
    #[error("{0}")]
    MalformedBody(String),
    /// The body's media type is not one we read.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// One row of a write batch is invalid; nothing of the batch was written.
    #[error("row {row}: field '{field}' {reason}; nothing was written")]
    InvalidRow {
        row: usize,
        field: String,
        reason: String,
    },
    #[error("the request body is larger than the limit of {limit} bytes; send smaller batches")]
    PayloadTooLarge { limit: usize },
    /// The body did not arrive whole in time (`--body-timeout`).
    #[error("the request body did not arrive whole within {seconds} s of the request; nothing was written: send it again")]
    BodyTimeout { seconds: u64 },
    /// No dataset of that name (the message lists those there are).
    #[error("{0}")]
    UnknownDataset(String),
    #[error("{0}")]
    NotFound(String),
    /// No row with that key (a delete).
    #[error("{0}")]
    RowNotFound(String),
    /// The window reaches back past what the deletions feed keeps.
    #[error("{0}")]
    DeletionsPurged(String),
    /// The window starts before a retained dataset's horizon: its rows
    /// there are purged.
    #[error("{0}")]
    WindowPurged(String),
    /// The path exists, the method does not; `allow` lists those that do,
    /// and `hint` (empty, or starting with "; ") says where to go instead.
    #[error("this path answers {allow} only{hint}")]
    MethodNotAllowed { allow: &'static str, hint: String },
    #[error("send an API key as 'Authorization: Bearer KEY' (or as the password of HTTP Basic); create one with `hourglass keys create`")]
    KeyMissing,
    #[error("the API key is unknown or revoked; check `hourglass keys list`")]
    KeyUnknown,
    #[error("{0}")]
    ScopeMissing(String),
    /// A key held to addresses (`keys create --allow`), used from another.
    #[error("{0}")]
    AddressNotAllowed(String),
    /// The key runs as many pulls as it may already.
    #[error("{detail}")]
    TooManyStreams { retry_after: u64, detail: String },
    /// The client's address presented too many wrong keys.
    #[error(
        "too many requests with a wrong API key from this address; wait, then send a valid key"
    )]
    TooManyWrongKeys { retry_after: u64 },
    /// The window ends too far in this server's future to wait for.
    #[error("{detail}")]
    TooEarly { retry_after: u64, detail: String },
    /// Writes in flight (or a replica's lag) kept the window from settling
    /// within the bound; retrying later is the fix.
    #[error("{0}")]
    NotSettled(String),
    /// The server holds as much of something as it takes (bodies in
    /// flight); retrying later is the fix.
    #[error("{0}")]
    Busy(String),
    /// The database is busy or unreachable; retrying later is the fix.
    #[error("the database is busy or unavailable; retry in a few seconds")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// Anything else: a bug or an unexpected storage failure.
    #[error("internal error; the cause was logged on the server")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

/// What an error is, for clients: a stable `code` to branch on, its HTTP
/// status and a title. Every problem+json answer carries them; docs/bad-input.md and
/// openapi.yaml list [`PROBLEMS`] (a test checks that they agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problem {
    pub code: &'static str,
    pub status: u16,
    pub title: &'static str,
}

macro_rules! problems {
    ($($name:ident = $code:literal, $status:literal, $title:literal;)*) => {
        $(const $name: Problem = Problem { code: $code, status: $status, title: $title };)*
        /// Every problem an answer may be, in the order docs/bad-input.md lists them.
        pub const PROBLEMS: &[Problem] = &[$($name),*];
    };
}

problems! {
    INVALID_PARAMETER = "invalid_parameter", 400, "Invalid query parameter";
    UNKNOWN_PARAMETER = "unknown_parameter", 400, "Unknown query parameter";
    MALFORMED_BODY = "malformed_body", 400, "Malformed request body";
    KEY_MISSING = "key_missing", 401, "Missing API key";
    KEY_UNKNOWN = "key_unknown", 401, "Unknown or revoked API key";
    SCOPE_MISSING = "scope_missing", 403, "API key lacks the scope";
    ADDRESS_NOT_ALLOWED = "address_not_allowed", 403, "API key not allowed from this address";
    UNKNOWN_DATASET = "unknown_dataset", 404, "Unknown dataset";
    NOT_FOUND = "not_found", 404, "Not found";
    ROW_NOT_FOUND = "row_not_found", 404, "No such row";
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, "Method not allowed";
    BODY_TIMEOUT = "body_timeout", 408, "Request body timeout";
    DELETIONS_PURGED = "deletions_purged", 410, "Deletions purged";
    WINDOW_PURGED = "window_purged", 410, "Window purged";
    BODY_TOO_LARGE = "body_too_large", 413, "Request body too large";
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", 415, "Unsupported media type";
    INVALID_ROW = "invalid_row", 422, "Invalid row";
    TOO_EARLY = "too_early", 425, "Window ends in the future";
    TOO_MANY_STREAMS = "too_many_streams", 429, "Too many pulls for this key";
    TOO_MANY_WRONG_KEYS = "too_many_wrong_keys", 429, "Too many wrong keys";
    INTERNAL = "internal", 500, "Internal server error";
    NOT_SETTLED = "not_settled", 503, "Window not settled in time";
    BUSY = "busy", 503, "Server busy";
    UNAVAILABLE = "unavailable", 503, "Database unavailable";
}

impl ApiError {
    pub fn problem(&self) -> Problem {
        match self {
            ApiError::InvalidParameter { .. } => INVALID_PARAMETER,
            ApiError::UnknownParameter { .. } => UNKNOWN_PARAMETER,
            ApiError::MalformedBody(_) => MALFORMED_BODY,
            ApiError::UnsupportedMediaType(_) => UNSUPPORTED_MEDIA_TYPE,
            ApiError::InvalidRow { .. } => INVALID_ROW,
            ApiError::PayloadTooLarge { .. } => BODY_TOO_LARGE,
            ApiError::BodyTimeout { .. } => BODY_TIMEOUT,
            ApiError::UnknownDataset(_) => UNKNOWN_DATASET,
            ApiError::NotFound(_) => NOT_FOUND,
            ApiError::RowNotFound(_) => ROW_NOT_FOUND,
            ApiError::DeletionsPurged(_) => DELETIONS_PURGED,
            ApiError::WindowPurged(_) => WINDOW_PURGED,
            ApiError::MethodNotAllowed { .. } => METHOD_NOT_ALLOWED,
            ApiError::KeyMissing => KEY_MISSING,
            ApiError::KeyUnknown => KEY_UNKNOWN,
            ApiError::ScopeMissing(_) => SCOPE_MISSING,
            ApiError::AddressNotAllowed(_) => ADDRESS_NOT_ALLOWED,
            ApiError::TooManyStreams { .. } => TOO_MANY_STREAMS,
            ApiError::TooManyWrongKeys { .. } => TOO_MANY_WRONG_KEYS,
            ApiError::TooEarly { .. } => TOO_EARLY,
            ApiError::NotSettled(_) => NOT_SETTLED,
            ApiError::Busy(_) => BUSY,
            ApiError::Unavailable(_) => UNAVAILABLE,
            ApiError::Internal(_) => INTERNAL,
        }
    }

    /// What a log line may say of a rejected request: the error's code and
    /// the parameter, row or field it names, never the values involved
    /// (they may hold a key sent in the wrong place, or personal data).
    pub fn summary(&self) -> String {
        let code = self.problem().code;
        match self {
            ApiError::InvalidParameter { parameter, .. } => format!("{code} '{parameter}'"),
            ApiError::UnknownParameter { name, .. } => format!("{code} '{name}'"),
            ApiError::InvalidRow { row, field, .. } => format!("{code} row {row} field '{field}'"),
            _ => code.to_string(),
        }
    }

    /// Logs the full cause chain of server-side failures; client errors are
    /// the client's business and are logged by the request log line.
    pub fn log_if_server_error(&self) {
        if let ApiError::Unavailable(_) | ApiError::Internal(_) = self {
            log::error!("{}", cause_chain(self));
        }
    }

    /// Seconds a client is asked to wait, for errors that pass with time.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::TooEarly { retry_after, .. }
            | ApiError::TooManyStreams { retry_after, .. }
            | ApiError::TooManyWrongKeys { retry_after } => Some(*retry_after),
            ApiError::NotSettled(_) | ApiError::Busy(_) | ApiError::Unavailable(_) => {
                Some(RETRY_AFTER_SECONDS)
            }
            _ => None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.problem().status).expect("every problem has a valid status")
    }

    fn error_response(&self) -> HttpResponse {
        self.log_if_server_error();
        let problem = self.problem();
        let mut body = json!({
            "type": format!("https://hourglass.invalid/problems/{}", problem.code),
            "title": problem.title,
            "status": problem.status,
            "code": problem.code,
            "detail": self.to_string(),
        });
        match self {
            ApiError::InvalidParameter { parameter, .. } => body["parameter"] = json!(parameter),
            ApiError::UnknownParameter { name, .. } => body["parameter"] = json!(name),
            ApiError::InvalidRow { row, field, .. } => {
                body["row"] = json!(row);
                body["field"] = json!(field);
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Some(seconds) = self.retry_after() {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        match self {
            ApiError::MethodNotAllowed { allow, .. } => {
                response.insert_header((header::ALLOW, *allow));
            }
            ApiError::KeyMissing | ApiError::KeyUnknown => {
                // Two challenges: Bearer for machines, Basic so that a browser
                // asks for the key (as the password) when a person downloads.
                response.append_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"hourglass\""),
                ));
                response.append_header((
                    header::WWW_AUTHENTICATE,
                    // A browser shows the realm in its prompt: it says
                    // where the key goes.
                    HeaderValue::from_static(BASIC_CHALLENGE),
                ));
            }
            _ => {}
        }
        response.body(body.to_string())
    }
}

// The domain's errors, each answered as the problem it is. This is the one
// place that decides a status: the modules below know nothing of HTTP.

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        match error {
            StorageError::Unavailable(cause) => ApiError::Unavailable(cause),
            StorageError::Failed(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        StorageError::from(error).into()
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        StorageError::from(error).into()
    }
}

impl From<ParamError> for ApiError {
    fn from(ParamError { parameter, reason }: ParamError) -> Self {
        ApiError::InvalidParameter { parameter, reason }
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::Malformed(detail) => ApiError::MalformedBody(detail),
            IngestError::UnsupportedMediaType(detail) => ApiError::UnsupportedMediaType(detail),
            IngestError::Row(RowError { row, field, reason }) => {
                ApiError::InvalidRow { row, field, reason }
            }
            IngestError::Storage(error) => error.into(),
        }
    }
}

impl From<BudgetFull> for ApiError {
    fn from(error: BudgetFull) -> Self {
        ApiError::Busy(error.to_string())
    }
}

impl From<SettleError> for ApiError {
    fn from(error: SettleError) -> Self {
        match error {
            SettleError::TooEarly {
                retry_after,
                detail,
            } => ApiError::TooEarly {
                retry_after,
                detail,
            },
            SettleError::NotSettled(detail) => ApiError::NotSettled(detail),
            SettleError::Storage(error) => error.into(),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn internal_causes_stay_out_of_the_response() {
        let error = ApiError::Internal("disk on fire at /var/secret".into());
        let response = error.error_response();
        assert_eq!(response.status(), 500);
        let body = response.into_body().try_into_bytes().unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("\"status\":500"), "{text}");
    }

    #[test]
    fn busy_sqlite_is_a_503_with_retry_after() {
        let error = ApiError::Unavailable("database is locked".into());
        let response = error.error_response();
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
}
