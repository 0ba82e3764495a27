-- +goose Up
-- Every running server keeps its placement index (grid.Placer) in step with
-- the grids, the people and their assignments: a statement that changes
-- them notifies channel grid_changed (once per transaction, on commit:
-- PostgreSQL folds equal notifications), and grid.FollowChanges refreshes
-- the Placer. Imports (whistlegrid import grids / people) and grid edits
-- alike go through it, so no server needs a restart.
-- +goose StatementBegin
CREATE FUNCTION grid_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('grid_changed', '');
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER grids_changed_notify AFTER INSERT OR UPDATE OR DELETE ON grids
    FOR EACH STATEMENT EXECUTE FUNCTION grid_changed_notify();
CREATE TRIGGER assignments_changed_notify AFTER INSERT OR UPDATE OR DELETE ON assignments
    FOR EACH STATEMENT EXECUTE FUNCTION grid_changed_notify();
CREATE TRIGGER people_changed_notify AFTER INSERT OR UPDATE OR DELETE ON people
    FOR EACH STATEMENT EXECUTE FUNCTION grid_changed_notify();

-- +goose Down
DROP TRIGGER people_changed_notify ON people;
DROP TRIGGER assignments_changed_notify ON assignments;
DROP TRIGGER grids_changed_notify ON grids;
DROP FUNCTION grid_changed_notify();
