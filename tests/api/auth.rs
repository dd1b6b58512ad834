//! The auth matrix: who may pull, who may write.

use crate::helpers::{on_both_backends, spawn_app, window, Backend};
use base64::Engine as _;
use hourglass::auth::{self, Scopes};
use hourglass::timestamp::Timestamp;

on_both_backends!(
    keys_are_checked_for_presence_validity_and_scope,
    health_needs_no_key,
    keys_are_stored_only_as_hashes_and_names_are_unique,
);

async fn keys_are_checked_for_presence_validity_and_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let url = format!(
        "{}/api/users?{}",
        app.address,
        window("2020-10-10 07:00:00", "2020-10-10 08:00:00")
    );
    let post = format!("{}/api/users", app.address);
    let (write_only, revoked) = {
        let mut conn = app.conn();
        let write_only = auth::create_key(
            &mut conn,
            "pusher",
            Scopes {
                read: false,
                write: true,
            },
            Timestamp::now(),
        )
        .unwrap();
        let revoked = auth::create_key(
            &mut conn,
            "old",
            Scopes {
                read: true,
                write: true,
            },
            Timestamp::now(),
        )
        .unwrap();
        auth::revoke_key(&mut conn, "old", Timestamp::now()).unwrap();
        (write_only, revoked)
    };
    let basic = |key: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("crm:{key}"))
        )
    };

    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("no key", app.client.get(&url), 401),
        (
            "unknown key",
            app.client.get(&url).bearer_auth("hg_nope"),
            401,
        ),
        (
            "revoked key",
            app.client.get(&url).bearer_auth(&revoked),
            401,
        ),
        (
            "garbled header",
            app.client.get(&url).header("Authorization", "Bearer"),
            401,
        ),
        (
            "read key, bearer",
            app.client.get(&url).bearer_auth(&app.read_key),
            200,
        ),
        (
            "read key, basic",
            app.client
                .get(&url)
                .header("Authorization", basic(&app.read_key)),
            200,
        ),
        (
            "write-only key pulls",
            app.client.get(&url).bearer_auth(&write_only),
            403,
        ),
        (
            "read key writes",
            app.client.post(&post).bearer_auth(&app.read_key).body("[]"),
            403,
        ),
        (
            "write key writes, basic",
            app.client
                .post(&post)
                .header("Authorization", basic(&write_only))
                .body(serde_json::json!([crate::helpers::sample_row("users", "u1")]).to_string()),
            200,
        ),
        ("no key writes", app.client.post(&post).body("[]"), 401),
    ];
    for (case, request, expected) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected, "{case}");
        if expected == 401 {
            let challenges: Vec<_> = response
                .headers()
                .get_all("www-authenticate")
                .iter()
                .collect();
            assert_eq!(challenges.len(), 2, "{case}: Bearer and Basic challenges");
        }
    }
}

async fn health_needs_no_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .get(format!("{}/health", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn keys_are_stored_only_as_hashes_and_names_are_unique(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut conn = app.conn();
    let key = auth::create_key(
        &mut conn,
        "crm",
        Scopes {
            read: true,
            write: false,
        },
        Timestamp::now(),
    )
    .unwrap();
    assert!(key.starts_with("hg_") && key.len() > 40);
    let err = auth::create_key(
        &mut conn,
        "crm",
        Scopes {
            read: true,
            write: false,
        },
        Timestamp::now(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("exists already"));
    assert!(auth::revoke_key(&mut conn, "nobody", Timestamp::now()).is_err());
    let listed = auth::list_keys(&mut conn).unwrap();
    assert!(listed.iter().any(|k| k.name == "crm" && k.scopes == "read"));
    drop(conn);
    // Every stored value: none of them is the key.
    let stored: Vec<String> = {
        use diesel::prelude::*;
        use hourglass::db::schema::api_keys;
        let mut conn = app.conn();
        api_keys::table
            .select(api_keys::key_hash)
            .load::<String>(&mut *conn)
            .unwrap()
    };
    assert!(stored
        .iter()
        .all(|hash| hash.len() == 64 && !hash.contains(&key[3..])));
    // On SQLite, not anywhere in the database's files either.
    if let Some(path) = &app.db_path {
        for entry in std::fs::read_dir(path.parent().unwrap()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(
                !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                "the key itself is never stored"
            );
        }
    }
}
