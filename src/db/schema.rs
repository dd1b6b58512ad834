//! Diesel's view of hourglass's own tables (see `migrations/` for the SQL).
//! The datasets' tables are not here: their columns are described once in
//! `datasets::defs`, and their SQL is generated from that.

diesel::table! {
    stamp_clock (id) {
        id -> Integer,
        last_stamp -> BigInt,
    }
}

diesel::table! {
    api_keys (name) {
        name -> Text,
        key_hash -> Text,
        scopes -> Text,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
        allowed_from -> Nullable<Text>,
    }
}

diesel::table! {
    custom_fields (dataset, name) {
        dataset -> Text,
        name -> Text,
        field_type -> Text,
        position -> BigInt,
        added_at -> BigInt,
        retired_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    write_hours (dataset, hour) {
        dataset -> Text,
        hour -> BigInt,
        rows -> BigInt,
        last_write -> BigInt,
    }
}

diesel::table! {
    relays (name) {
        name -> Text,
        position -> BigInt,
        delivered -> BigInt,
        dead_lettered -> BigInt,
        started_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    relay_scores (relay, score_id) {
        relay -> Text,
        score_id -> Text,
        player -> Text,
    }
}

diesel::table! {
    relay_dead_letters (id) {
        id -> BigInt,
        relay -> Text,
        at -> BigInt,
        endpoint -> Text,
        body -> Text,
        status -> Integer,
        answer -> Text,
    }
}
