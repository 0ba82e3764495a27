-- +goose Up
-- Durable intake (issue 12, point 1). PostgreSQL serialises every commit
-- that carries a NOTIFY on one lock, held until the commit's WAL is flushed,
-- so with synchronous_commit on, notifying transactions cannot share a WAL
-- flush: each waits for the disk alone. Clue intake therefore writes its
-- events without the trigger's notification (it sets whistlegrid.notify to
-- 'after_commit' in its transaction) and notifies once per transaction
-- after its commit is durable, in a transaction of its own that writes no
-- data (whistle/intake.go, notifyEvents). The hubs poll as well, so a
-- notification lost in a crash between the two only delays delivery.
--
-- The trigger is per statement now, notifying the highest seq the
-- statement inserted (the hubs read everything after the last seq they
-- delivered, so one notification covers the statement).
DROP TRIGGER events_notify ON events;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_top bigint;
BEGIN
    IF current_setting('whistlegrid.notify', true) = 'after_commit' THEN
        RETURN NULL;
    END IF;
    SELECT max(seq) INTO v_top FROM new_events;
    IF v_top IS NOT NULL THEN
        PERFORM pg_notify('whistlegrid_events', v_top::text);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

-- +goose Down
DROP TRIGGER events_notify ON events;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('whistlegrid_events', NEW.seq::text);
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_notify();
