-- +goose Up
-- A revoked token notifies 'whistlegrid_tokens' with its hash in hex, so
-- that every server instance closes the live streams opened with it
-- (live.TokenChannel), whoever revoked it: a logout on any instance, or SQL.
-- +goose StatementBegin
CREATE FUNCTION tokens_revoked_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('whistlegrid_tokens', encode(NEW.token_hash, 'hex'));
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER tokens_revoked_notify AFTER UPDATE OF revoked_at ON tokens
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION tokens_revoked_notify();

-- +goose Down
DROP TRIGGER tokens_revoked_notify ON tokens;
DROP FUNCTION tokens_revoked_notify;
