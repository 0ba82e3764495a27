-- +goose Up
-- attachments: photos and PDFs uploaded through POST /api/v1/attachments
-- (package attach), each row one upload of one object; the bytes live in
-- the Blobs store under their SHA-256 (the same picture uploaded twice is
-- two rows and one object). An upload belongs to its uploader until it is
-- attached to a clue (clue_id) or a whistle step (event_id, a row of the
-- trail), never both; it is served to whoever may see that clue or
-- whistle, and to its uploader. gps is the position the EXIF held (the
-- EXIF itself is not kept).
CREATE TABLE attachments (
    id           bigserial   PRIMARY KEY,
    sha256       text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content_type text        NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp', 'application/pdf')),
    size         bigint      NOT NULL CHECK (size > 0 AND size <= 10485760),
    uploaded_by  bigint      NOT NULL REFERENCES users (id),
    uploaded_at  timestamptz NOT NULL DEFAULT now(),
    gps          geometry(Point, 4326),
    clue_id      bigint      REFERENCES clues (id),
    event_id     bigint      REFERENCES whistle_events (id),
    CHECK (clue_id IS NULL OR event_id IS NULL)
);
CREATE INDEX attachments_clue_idx ON attachments (clue_id) WHERE clue_id IS NOT NULL;
CREATE INDEX attachments_event_idx ON attachments (event_id) WHERE event_id IS NOT NULL;
CREATE INDEX attachments_loose_idx ON attachments (uploaded_by, uploaded_at) WHERE clue_id IS NULL AND event_id IS NULL;

-- clues.reported_by: the user who posted a grid worker's report (我的上报);
-- clues.media_url: an Open311 request's media_url, kept as it was posted.
ALTER TABLE clues ADD COLUMN reported_by bigint REFERENCES users (id);
ALTER TABLE clues ADD COLUMN media_url text CHECK (length(media_url) <= 2048);
CREATE INDEX clues_reported_by_idx ON clues (reported_by, reported_at DESC) WHERE reported_by IS NOT NULL;

-- clue_attach runs in the intake's transaction right after whistle_intake
-- for a clue posted with attachments, a media_url or by a grid worker: it
-- finds the clue by its key (new or already stored: a retry under the same
-- external_id attaches to the stored clue, once), records who reported it
-- and its media_url when not yet recorded, and attaches the uploads. Each
-- upload must be the caller's and loose, or already on this clue; else it
-- raises WG001 and the intake is rolled back whole.
-- +goose StatementBegin
CREATE FUNCTION clue_attach(p_source text, p_external_id text, p_user bigint, p_media_url text, p_ids bigint[])
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    cid bigint;
    n   integer;
BEGIN
    SELECT id INTO cid FROM clues WHERE source = p_source AND external_id = p_external_id;
    IF cid IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE clues SET reported_by = coalesce(reported_by, p_user), media_url = coalesce(media_url, p_media_url)
    WHERE id = cid AND ((reported_by IS NULL AND p_user IS NOT NULL) OR (media_url IS NULL AND p_media_url IS NOT NULL));
    IF coalesce(cardinality(p_ids), 0) > 0 THEN
        UPDATE attachments SET clue_id = cid
        WHERE id = ANY (p_ids) AND uploaded_by = p_user AND clue_id IS NULL AND event_id IS NULL;
        SELECT count(*) INTO n FROM attachments WHERE id = ANY (p_ids) AND clue_id = cid;
        IF n <> (SELECT count(DISTINCT x) FROM unnest(p_ids) AS x) THEN
            RAISE EXCEPTION 'an attachment is unknown, not yours, or attached elsewhere' USING ERRCODE = 'WG001';
        END IF;
    END IF;
    RETURN cid;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION clue_attach(text, text, bigint, text, bigint[]);
DROP INDEX clues_reported_by_idx;
ALTER TABLE clues DROP COLUMN media_url;
ALTER TABLE clues DROP COLUMN reported_by;
DROP TABLE attachments;
