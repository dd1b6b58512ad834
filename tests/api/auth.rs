//! The auth matrix: who may pull, who may write.

use crate::helpers::{on_both_backends, request_to, spawn_app, window, Backend};
use base64::Engine as _;
use hourglass::auth::{self, Scopes};
use hourglass::timestamp::Timestamp;
use reqwest::Method;

on_both_backends!(
    keys_are_checked_for_presence_validity_and_scope,
    health_needs_no_key,
    keys_are_stored_only_as_hashes_and_names_are_unique,
    wrong_keys_are_throttled_per_address_and_not_logged_one_by_one,
    a_key_can_be_held_to_addresses_and_x_forwarded_for_is_trusted_only_from_proxies,
    keys_list_shows_each_keys_last_use,
    a_key_revoked_on_one_instance_is_refused_by_another_within_a_second,
);

async fn keys_are_checked_for_presence_validity_and_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let users = format!(
        "/api/users?{}",
        window("2020-10-10 07:00:00", "2020-10-10 08:00:00")
    );
    let get = || app.request(Method::GET, &users);
    let post = || app.request(Method::POST, "/api/users");
    let (write_only, revoked) = {
        let mut conn = app.conn();
        let write_only = auth::keys::create_key(
            &mut conn,
            "pusher",
            Scopes {
                read: false,
                write: true,
            },
            Timestamp::now(),
        )
        .unwrap();
        let revoked = auth::keys::create_key(
            &mut conn,
            "old",
            Scopes {
                read: true,
                write: true,
            },
            Timestamp::now(),
        )
        .unwrap();
        auth::keys::revoke_key(&mut conn, "old", Timestamp::now()).unwrap();
        (write_only, revoked)
    };
    let basic = |key: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("crm:{key}"))
        )
    };

    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        ("no key", get(), 401),
        ("unknown key", get().bearer_auth("hg_nope"), 401),
        ("revoked key", get().bearer_auth(&revoked), 401),
        (
            "garbled header",
            get().header("Authorization", "Bearer"),
            401,
        ),
        ("read key, bearer", get().bearer_auth(&app.read_key), 200),
        (
            "read key, basic",
            get().header("Authorization", basic(&app.read_key)),
            200,
        ),
        ("write-only key pulls", get().bearer_auth(&write_only), 403),
        (
            "read key writes",
            post().bearer_auth(&app.read_key).body("[]"),
            403,
        ),
        (
            "write key writes, basic",
            post()
                .header("Authorization", basic(&write_only))
                .body(serde_json::json!([crate::helpers::sample_row("users", "u1")]).to_string()),
            200,
        ),
        ("no key writes", post().body("[]"), 401),
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
            // A browser shows the Basic realm in its prompt: it says where the key goes.
            assert!(
                challenges[1]
                    .to_str()
                    .unwrap()
                    .contains("API key as the password"),
                "{case}: {challenges:?}"
            );
        }
    }
}

async fn health_needs_no_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.request(Method::GET, "/health").send().await.unwrap();
    assert_eq!(response.status(), 200);
}

async fn keys_are_stored_only_as_hashes_and_names_are_unique(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut conn = app.conn();
    let key = auth::keys::create_key(
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
    let err = auth::keys::create_key(
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
    assert!(auth::keys::revoke_key(&mut conn, "nobody", Timestamp::now()).is_err());
    let listed = auth::keys::list_keys(&mut conn).unwrap();
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

async fn wrong_keys_are_throttled_per_address_and_not_logged_one_by_one(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let database = crate::helpers::new_database(backend, dir.path());
    let app_key = {
        let settings = hourglass::config::Settings::for_database(&database);
        let pools = hourglass::db::open(&settings.database).unwrap();
        let mut conn = pools.write.get().unwrap();
        auth::keys::create_key(
            &mut conn,
            "crm",
            Scopes {
                read: true,
                write: false,
            },
            Timestamp::now(),
        )
        .unwrap()
    };
    let log = dir.path().join("serve.log");
    // A server process of its own, logging to a file the test reads.
    let server = crate::helpers::ServerProcess::start_logging(&database, &[], &log).await;
    let users = format!(
        "/api/users?{}",
        window("2020-10-10 07:00:00", "2020-10-10 08:00:00")
    );
    let get = || server.request(Method::GET, &users);
    let mut statuses = Vec::new();
    for attempt in 0..200 {
        let response = get()
            .bearer_auth(format!("hg_wrong{attempt}"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[401; 10], "a burst of ten is answered");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    // Throttled, the address waits even with a good key; then it may go on.
    let response = get().bearer_auth(&app_key).send().await.unwrap();
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    // Not synchronisation: waiting out the Retry-After is what a client
    // does, and what the throttle must then let through.
    actix_web::rt::time::sleep(std::time::Duration::from_secs(wait)).await;
    let response = get().bearer_auth(&app_key).send().await.unwrap();
    assert_eq!(response.status(), 200);
    drop(server);
    let logged = std::fs::read_to_string(&log).unwrap();
    let lines = logged
        .lines()
        .filter(|l| l.contains("wrong") || l.contains("rejected"))
        .count();
    assert!(
        lines <= 2,
        "200 wrong keys wrote {lines} log lines:\n{logged}"
    );
    assert!(
        logged.contains("wrong API keys in a burst: throttled"),
        "{logged}"
    );
}

async fn a_key_can_be_held_to_addresses_and_x_forwarded_for_is_trusted_only_from_proxies(
    backend: Backend,
) {
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    for trusting in [false, true] {
        let app = crate::helpers::spawn_app_with(backend, |settings| {
            if trusting {
                settings.trusted_proxies = auth::keys::parse_networks("127.0.0.1").unwrap();
            }
        })
        .await;
        let key = |name: &str, allow: &str| {
            auth::keys::create_key_allowed_from(
                &mut app.conn(),
                name,
                Scopes {
                    read: true,
                    write: false,
                },
                &auth::keys::parse_networks(allow).unwrap(),
                Timestamp::now(),
            )
            .unwrap()
        };
        let (loopback, crm, elsewhere) = (
            key("loopback", "127.0.0.0/8"),
            key("crm", "203.0.113.0/24, 198.51.100.7"),
            key("elsewhere", "10.0.0.0/8"),
        );
        let pull = |key: String, forwarded: Option<&'static str>| {
            let mut request = app
                .request(Method::GET, &format!("/api/users?{query}"))
                .bearer_auth(key);
            if let Some(forwarded) = forwarded {
                request = request.header("X-Forwarded-For", forwarded);
            }
            async move { request.send().await.unwrap().status().as_u16() }
        };
        // The client as a trusted proxy reports it: the last address that is
        // not the proxy's own; what the client wrote before it proves nothing.
        let from_crm = Some("10.1.1.1, 203.0.113.9");
        if trusting {
            assert_eq!(pull(crm.clone(), from_crm).await, 200);
            assert_eq!(pull(crm.clone(), Some("203.0.113.9, 10.1.1.1")).await, 403);
            assert_eq!(pull(loopback.clone(), from_crm).await, 403);
            assert_eq!(pull(elsewhere.clone(), Some("10.2.3.4")).await, 200);
        } else {
            assert_eq!(
                pull(crm.clone(), from_crm).await,
                403,
                "X-Forwarded-For is not believed"
            );
            assert_eq!(pull(loopback.clone(), from_crm).await, 200);
            assert_eq!(pull(elsewhere.clone(), Some("10.2.3.4")).await, 403);
        }
        assert_eq!(pull(loopback, None).await, 200);
        assert_eq!(pull(crm, None).await, 403);
    }
}

async fn keys_list_shows_each_keys_last_use(backend: Backend) {
    let app = spawn_app(backend).await;
    let before = auth::keys::list_keys(&mut app.conn()).unwrap();
    assert!(before.iter().all(|k| k.last_used_at.is_none()));
    let pulled = app
        .pull(
            "users",
            &window("2020-10-10 07:00:00", "2020-10-10 08:00:00"),
        )
        .await;
    assert_eq!(pulled.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let keys = auth::keys::list_keys(&mut app.conn()).unwrap();
        let reader = keys.iter().find(|k| k.name == "reader").unwrap();
        let writer = keys.iter().find(|k| k.name == "writer").unwrap();
        if let Some(used) = reader.last_used_at {
            assert!(used.as_micros() > 0);
            assert!(writer.last_used_at.is_none(), "only the key that was used");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the use was never recorded"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Keys are checked from memory; every instance reloads them often enough
/// that a revoked key stops working everywhere within a second.
async fn a_key_revoked_on_one_instance_is_refused_by_another_within_a_second(backend: Backend) {
    let app = spawn_app(backend).await;
    let other = crate::helpers::ServerProcess::start(&app.database_url, &[]).await;
    let query = window("2020-10-10 07:00:00", "2020-10-10 08:00:00");
    // The same request to this app and to the other process.
    let status = |server: String| {
        let request = request_to(
            &app.client,
            Method::GET,
            &server,
            &format!("/api/users?{query}"),
        )
        .bearer_auth(&app.read_key)
        .send();
        async move { request.await.unwrap().status().as_u16() }
    };
    assert_eq!(status(app.address.clone()).await, 200);
    assert_eq!(status(other.address.clone()).await, 200);

    auth::keys::revoke_key(&mut app.conn(), "reader", Timestamp::now()).unwrap();
    let revoked = std::time::Instant::now();
    loop {
        let (here, there) =
            futures_util::future::join(status(app.address.clone()), status(other.address.clone()))
                .await;
        if (here, there) == (401, 401) {
            break;
        }
        assert!(
            revoked.elapsed() < std::time::Duration::from_secs(1),
            "still answered ({here}, {there}) {:?} after the key was revoked",
            revoked.elapsed()
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    eprintln!(
        "revocation reached both instances in {:?}",
        revoked.elapsed()
    );
}
