-- +goose Up
-- login_throttle: failed logins counted per username and per client
-- address (auth.Throttle), in the database so every server instance sees
-- the same counts. key is 'user:<username>' or 'addr:<address>';
-- failures counts the attempts since the last success that did not
-- succeed; locked_until refuses attempts before it; a row whose last
-- attempt is older than the policy's Forget starts over and is deleted.
CREATE TABLE login_throttle (
    key          text        PRIMARY KEY CHECK (length(key) <= 200),
    failures     integer     NOT NULL CHECK (failures >= 0),
    locked_until timestamptz,
    last_at      timestamptz NOT NULL
);
CREATE INDEX login_throttle_last_idx ON login_throttle (last_at);

-- +goose Down
DROP TABLE login_throttle;
