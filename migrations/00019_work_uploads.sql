-- +goose Up
-- The sweep of loose uploads (whistle.SweepUploads): the uploads attached
-- to no clue and no step, oldest first, and the ledger entries that name
-- an upload (their attachments hold ids or URLs as typed).
CREATE INDEX attachments_loose_at_idx ON attachments (uploaded_at) WHERE clue_id IS NULL AND event_id IS NULL;
CREATE INDEX ledger_entries_attachments_idx ON ledger_entries USING gin (attachments);

-- +goose Down
DROP INDEX ledger_entries_attachments_idx;
DROP INDEX attachments_loose_at_idx;
