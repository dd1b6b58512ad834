//! `GET /` and its assets over HTTP, as a browser first asks for them (the
//! browser's own behaviour is `.ci/browser_test.sh`'s).

use crate::helpers::{on_both_backends, spawn_app, Backend};
use reqwest::Method;

on_both_backends!(the_page_asks_for_a_read_key_and_says_what_was_wrong,);

async fn the_page_asks_for_a_read_key_and_says_what_was_wrong(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = |password: Option<&str>, query: &str| {
        let request = app.request(Method::GET, &format!("/{query}"));
        match password {
            Some(password) => request.basic_auth("analyst", Some(password)),
            None => request,
        }
        .send()
    };
    let read_key = app.read_key.clone();
    let write_key = hourglass::auth::keys::create_key(
        &mut app.conn(),
        "writer-only",
        "write".parse().unwrap(),
        crate::helpers::ts("2020-10-10 00:00:00"),
    )
    .unwrap();
    for (password, query, status, says) in [
        (None, "", 401, "Sign in with an API key"),
        (Some("hg_wrong"), "", 401, "That key was not accepted"),
        (Some(write_key.as_str()), "", 401, "That key cannot read"),
        (
            Some(read_key.as_str()),
            "?key=hg_x",
            400,
            "Keys do not go in the address",
        ),
    ] {
        let response = page(password, query).await.unwrap();
        assert_eq!(response.status(), status, "{says}");
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(
            challenge.is_some_and(|c| c.starts_with("Basic realm=")),
            status == 401,
            "{says}"
        );
        let body = response.text().await.unwrap();
        assert!(body.contains(says), "{body}");
        for sent in [password.unwrap_or("hg_wrong"), "hg_x"] {
            assert!(!body.contains(sent), "a key never comes back: {body}");
        }
    }
    let response = page(Some(&app.read_key), "").await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'self'"));
    assert_eq!(headers["x-frame-options"], "DENY");
    let html = response.text().await.unwrap();
    assert!(html.contains("All times are UTC") && html.contains("/assets/app.js"));

    for (asset, content_type) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
    ] {
        let response = app
            .request(Method::GET, &format!("/assets/{asset}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (
                response.status().as_u16(),
                &response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .to_string()
            ),
            (200, &content_type.to_string())
        );
    }
    let missing = app
        .request(Method::GET, "/assets/secrets.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
