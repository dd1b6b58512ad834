//! The one error type that HTTP handlers return, and how it becomes a response.
//!
//! Every error leaves as `application/problem+json` (RFC 9457: type, title,
//! status, detail, plus a few members that say which parameter, row or field
//! was wrong). Rules for storage errors, in one place: a pool that cannot hand
//! out a connection in time, or a database that is locked or unreachable, is a
//! 503 with `Retry-After`; anything else is logged with its whole cause chain
//! and answered with an opaque 500, so internals never reach a client.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use std::error::Error as StdError;
use std::fmt::Write as _;

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
    #[error("{0}")]
    NotFound(String),
    /// The path exists, the method does not; `allow` lists those that do,
    /// and `hint` (empty, or starting with "; ") says where to go instead.
    #[error("this path answers {allow} only{hint}")]
    MethodNotAllowed { allow: &'static str, hint: String },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// The client runs its share of something already (streams per key).
    #[error("{detail}")]
    TooManyRequests { retry_after: u64, detail: String },
    /// The window ends too far in this server's future to wait for.
    #[error("{detail}")]
    TooEarly { retry_after: u64, detail: String },
    /// The database is busy or unreachable; retrying later is the fix.
    #[error("the database is busy or unavailable; retry in a few seconds")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// The server holds as much of something as it takes (bodies in
    /// flight); retrying later is the fix.
    #[error("{0}")]
    Busy(String),
    /// Anything else: a bug or an unexpected storage failure.
    #[error("internal error; the cause was logged on the server")]
    Internal(#[source] Box<dyn StdError + Send + Sync>),
}

impl ApiError {
    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::InvalidParameter { .. } => ("invalid-parameter", "Invalid query parameter"),
            ApiError::UnknownParameter { .. } => ("unknown-parameter", "Unknown query parameter"),
            ApiError::MalformedBody(_) => ("malformed-body", "Malformed request body"),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            ApiError::InvalidRow { .. } => ("invalid-row", "Invalid row"),
            ApiError::PayloadTooLarge { .. } => ("payload-too-large", "Request body too large"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Unauthorized(_) => ("unauthorized", "Missing or unknown API key"),
            ApiError::Forbidden(_) => ("forbidden", "API key lacks the scope"),
            ApiError::TooEarly { .. } => ("too-early", "Window ends in the future"),
            ApiError::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            ApiError::Unavailable(_) => ("unavailable", "Service unavailable"),
            ApiError::Busy(_) => ("busy", "Server busy"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        }
    }

    /// What a log line may say of a rejected request: the kind of error and
    /// the parameter, row or field it names, never the values involved
    /// (they may hold a key sent in the wrong place, or personal data).
    pub fn summary(&self) -> String {
        let (slug, _) = self.kind();
        match self {
            ApiError::InvalidParameter { parameter, .. } => format!("{slug} '{parameter}'"),
            ApiError::UnknownParameter { name, .. } => format!("{slug} '{name}'"),
            ApiError::InvalidRow { row, field, .. } => format!("{slug} row {row} field '{field}'"),
            _ => slug.to_string(),
        }
    }

    /// Logs the full cause chain of server-side failures; client errors are
    /// the client's business and are logged by the request log line.
    pub fn log_if_server_error(&self) {
        if let ApiError::Unavailable(_) | ApiError::Internal(_) = self {
            log::error!("{}", cause_chain(self));
        }
    }
}

/// `error: cause: cause ...`, for logs.
pub fn cause_chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidParameter { .. }
            | ApiError::UnknownParameter { .. }
            | ApiError::MalformedBody(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::InvalidRow { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            // actix's `http` 0.2 has no constant for 425 Too Early (RFC 8470).
            ApiError::TooEarly { .. } => StatusCode::from_u16(425).expect("a valid status"),
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log_if_server_error();
        let status = self.status_code();
        let (slug, title) = self.kind();
        let mut body = json!({
            "type": format!("https://hourglass.invalid/problems/{slug}"),
            "title": title,
            "status": status.as_u16(),
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
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::Unavailable(_) | ApiError::Busy(_) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
            }
            ApiError::TooEarly { retry_after, .. }
            | ApiError::TooManyRequests { retry_after, .. } => {
                response.insert_header((header::RETRY_AFTER, *retry_after));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                response.insert_header((header::ALLOW, *allow));
            }
            ApiError::Unauthorized(_) => {
                // Two challenges: Bearer for machines, Basic so that a browser
                // asks for the key (as the password) when a person downloads.
                response.append_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"hourglass\""),
                ));
                response.append_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"hourglass\", charset=\"UTF-8\""),
                ));
            }
            _ => {}
        }
        response.body(body.to_string())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &error {
            Error::NotFound => ApiError::NotFound("no such record".into()),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                ApiError::Unavailable(Box::new(error))
            }
            // Lock waits past their bound (SQLite's "database is locked",
            // PostgreSQL's lock timeout) and queries past the statement
            // timeout: the database is too busy right now.
            Error::DatabaseError(_, info)
                if crate::db::is_lock_timeout(&error)
                    || info.message().contains("statement timeout") =>
            {
                ApiError::Unavailable(Box::new(error))
            }
            _ => ApiError::Internal(Box::new(error)),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable(Box::new(error))
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
