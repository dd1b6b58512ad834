//! `GET /`: the page for people, and `GET /assets/{file}`, its script and
//! style. Plain HTML, CSS and JavaScript, built into the binary: nothing to
//! build, nothing loaded from elsewhere (`src/page/`).
//!
//! The browser asks for the key itself, through HTTP Basic (any user name,
//! the key as the password), and then sends it with every request the page
//! makes, downloads included: a download is the browser's own, streamed
//! from the pull API to disk, never through the page's memory. A page asked
//! for without a usable key answers 401 with a Basic challenge, so that the
//! browser asks (again), and a body that says what was wrong, which the
//! browser shows once the person gives up.

use crate::auth::{KeyGuard, Scope};
use crate::error::ApiError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};

const INDEX: &str = include_str!("../page/index.html");

/// The page's files, by name.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../page/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../page/app.css"),
    ),
];

/// The page, for a read key.
pub async fn index(req: HttpRequest, keys: web::Data<KeyGuard>) -> HttpResponse {
    // The guard itself, not the `ReadKey` extractor: a refused key gets a
    // page that says what was wrong, not problem+json.
    match keys.require(&req, Scope::Read).await {
        Ok(_) => page(HttpResponse::Ok()).body(INDEX),
        Err(error) => refused(&error),
    }
}

/// `/assets/{file}`: no key, as they hold nothing but code.
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (_, content_type, body) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("no asset named '{file}'")))?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Checked again on every load, so that an upgrade shows at once.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(*body))
}

/// A page response with the headers every page has: no framing by other
/// sites, scripts and styles from here only, nothing cached.
fn page(mut response: HttpResponseBuilder) -> HttpResponseBuilder {
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    response
}

/// The page for a request whose key the API refused: what was wrong, and
/// what to do. A key problem is a 401 with a Basic challenge, so that the
/// browser asks for another key, even for a key that exists but cannot read
/// (a 403 would leave the person stuck with it).
fn refused(error: &ApiError) -> HttpResponse {
    let (status, title, advice) = match error {
        ApiError::KeyMissing => (
            StatusCode::UNAUTHORIZED,
            "Sign in with an API key",
            "Hourglass asks for a key: give any user name, and a key with read scope as the \
             password. An operator creates one with <code>hourglass keys create --name NAME \
             --scope read</code>. Reload the page to sign in.",
        ),
        ApiError::KeyUnknown => (
            StatusCode::UNAUTHORIZED,
            "That key was not accepted",
            "The key is unknown or has been revoked. Check that you pasted the whole key \
             (it starts with <code>hg_</code>) as the password, then reload the page to try again.",
        ),
        ApiError::ScopeMissing(_) => (
            StatusCode::UNAUTHORIZED,
            "That key cannot read",
            "The page needs a key with read scope; this one may only write. Reload the page \
             and sign in with a read key.",
        ),
        ApiError::AddressNotAllowed(_) => (
            StatusCode::UNAUTHORIZED,
            "That key may not be used from here",
            "The key is held to other addresses (<code>hourglass keys list</code> shows which). \
             Reload the page and sign in with another key.",
        ),
        ApiError::TooManyWrongKeys { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many wrong keys",
            "This address gave too many wrong keys in a row. Wait a few seconds, then reload.",
        ),
        ApiError::InvalidParameter { .. } => (
            StatusCode::BAD_REQUEST,
            "Keys do not go in the address",
            "Proxies and browser histories keep addresses: open the page without the key in it, \
             sign in when the browser asks, and revoke the key if it was real.",
        ),
        _ => (
            actix_web::ResponseError::status_code(error),
            "Hourglass cannot check the key now",
            "The server could not reach its database. Reload the page in a moment.",
        ),
    };
    let mut response = page(HttpResponse::build(status));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(crate::error::BASIC_CHALLENGE),
        ));
    }
    if let Some(seconds) = error.retry_after() {
        response.insert_header((header::RETRY_AFTER, seconds));
    }
    response.body(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · Hourglass</title><link rel=\"stylesheet\" href=\"/assets/app.css\">\
         </head><body><main class=\"refused\"><h1>Hourglass</h1>\
         <section role=\"alert\" id=\"refused\"><h2>{title}</h2><p>{advice}</p></section>\
         </main></body></html>\n"
    ))
}
