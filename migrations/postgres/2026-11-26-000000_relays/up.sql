-- `hourglass relay`: each relay (by the name in its config) keeps here how
-- far it has delivered, so that a restart resumes where it stopped.
-- `position` is the end of the last window fully delivered (epoch
-- microseconds, UTC); `delivered` and `dead_lettered` count changes.
CREATE TABLE relays (
    name TEXT PRIMARY KEY NOT NULL,
    position BIGINT NOT NULL,
    delivered BIGINT NOT NULL,
    dead_lettered BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Scores a relay may have sent to a points engine and not revoked since,
-- with the player they went to: a row that stops matching, or is deleted,
-- is revoked only if it is here. Written before the score is sent, so it
-- never misses a score that was.
CREATE TABLE relay_scores (
    relay TEXT NOT NULL,
    score_id TEXT NOT NULL,
    player TEXT NOT NULL,
    PRIMARY KEY (relay, score_id)
);
-- Calls the target refused (a 4xx other than 409, 408 and 429), with its
-- answer: delivery carried on past them.
CREATE TABLE relay_dead_letters (
    id BIGSERIAL PRIMARY KEY,
    relay TEXT NOT NULL,
    at BIGINT NOT NULL,
    endpoint TEXT NOT NULL,
    body TEXT NOT NULL,
    status INTEGER NOT NULL,
    answer TEXT NOT NULL
);
CREATE INDEX relay_dead_letters_relay ON relay_dead_letters (relay, id);
