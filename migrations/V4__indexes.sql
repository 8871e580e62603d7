-- Indexes that match the queries' sort orders, so a page costs the same at 100 tasks and at 100,000.
--
-- threads.list pages a user's conversations by (created_at, id), both directions.
CREATE INDEX conversations_user_created_idx ON conversations (user_id, created_at, id);

-- tasks (user_id, id) already answers the per-user task count by an index-only scan; the extra
-- single-column index only cost every insert.
DROP INDEX IF EXISTS tasks_user_id_only_idx;
