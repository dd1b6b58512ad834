//! Diesel's view of the tables (see `migrations/` for the SQL and the column
//! conventions: BIGINT epoch microseconds, BIGINT millionths for amounts).

diesel::table! {
    users (id) {
        id -> BigInt,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        gender -> Nullable<Text>,
        country -> Nullable<Text>,
        city -> Nullable<Text>,
        ip -> Nullable<Text>,
        birthday -> Nullable<Text>,
        registered_at -> BigInt,
        ref_code -> Nullable<Text>,
        traffic_source -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        modified_at -> BigInt,
        is_blocked -> Nullable<Bool>,
        self_excluded -> Nullable<Bool>,
        locale -> Nullable<Text>,
    }
}

diesel::table! {
    contacts (player_id) {
        player_id -> BigInt,
        email -> Nullable<Text>,
        email_confirmed_at -> Nullable<BigInt>,
        email_subscribe -> Nullable<Bool>,
        phone -> Nullable<Text>,
        phone_subscribe -> Nullable<Bool>,
        phone_confirmed_at -> Nullable<BigInt>,
        push_token -> Nullable<Text>,
        created_at -> BigInt,
        modified_at -> BigInt,
    }
}

diesel::table! {
    transactions (id) {
        id -> BigInt,
        player_id -> BigInt,
        amount -> BigInt,
        currency -> Text,
        #[sql_name = "type"]
        type_ -> Nullable<Text>,
        status -> Nullable<Text>,
        payment_system -> Nullable<Text>,
        dir -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        invoice_id -> Nullable<Text>,
        wallet_id -> Nullable<BigInt>,
        user_agent -> Nullable<Text>,
        ip -> Nullable<Text>,
        requisite -> Nullable<Text>,
        comment -> Nullable<Text>,
    }
}

diesel::table! {
    logins (id) {
        id -> BigInt,
        player_id -> BigInt,
        ip -> Nullable<Text>,
        created_at -> BigInt,
        ref_code -> Nullable<Text>,
        traffic_source -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        host -> Nullable<Text>,
        is_success -> Nullable<Bool>,
        fail_reason -> Nullable<Text>,
        modified_at -> BigInt,
    }
}

diesel::table! {
    wallets (id) {
        id -> BigInt,
        player_id -> BigInt,
        #[sql_name = "type"]
        type_ -> Text,
        balance -> BigInt,
        currency -> Text,
        created_at -> BigInt,
        modified_at -> BigInt,
    }
}

diesel::table! {
    game_actions (id) {
        id -> Text,
        session_id -> Text,
        player_id -> BigInt,
        game_code -> Nullable<Text>,
        game_name -> Text,
        game_vendor -> Nullable<Text>,
        currency -> Text,
        balance_type -> Nullable<Text>,
        action -> Text,
        amount -> BigInt,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        ref_code -> Nullable<Text>,
        created_at -> BigInt,
        modified_at -> BigInt,
    }
}

diesel::table! {
    tournaments (id) {
        id -> BigInt,
        name -> Text,
        sport_id -> Nullable<Text>,
        sport_name -> Nullable<Text>,
        country_code -> Nullable<Text>,
        date_start -> BigInt,
        date_end -> Nullable<BigInt>,
        modified_at -> BigInt,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        tournament_id -> BigInt,
        title -> Text,
        status -> Text,
        start_time -> BigInt,
        end_time -> Nullable<BigInt>,
        #[sql_name = "type"]
        type_ -> Text,
        modified_at -> BigInt,
    }
}

diesel::table! {
    bets (id) {
        id -> BigInt,
        player_id -> BigInt,
        status -> Nullable<Text>,
        #[sql_name = "type"]
        type_ -> Text,
        stake -> Nullable<BigInt>,
        win_amount -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        kind -> Nullable<Text>,
        created_at -> BigInt,
        user_agent -> Nullable<Text>,
        modified_at -> BigInt,
    }
}

diesel::table! {
    bet_selections (id) {
        id -> BigInt,
        bet_id -> BigInt,
        event_id -> BigInt,
        ratio -> Nullable<BigInt>,
        status -> Nullable<Text>,
        market -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

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
    }
}
