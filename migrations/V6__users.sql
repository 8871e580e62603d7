-- Smart Todo schema, version 6: one row per user holding what a task write is checked against.
--
-- Each write used to upsert a new per-minute row in usage_windows, and each insert also counted
-- the user's tasks (up to the cap) to check the per-user limit: three times the cost of the insert
-- itself. Now a write updates this one row (in place: nothing in it is indexed but the key, and the
-- fill factor leaves room for heap-only updates), and the insert reads the task count from it.
--
--   tasks         how many tasks the user has. An insert adds to it in its own statement (the room
--                 check and the count are one update, see repo::tasks::insert_task); a delete takes
--                 from it by the trigger below, which holds for every way a task is deleted.
--   write_minute  the minute `writes` counts (date_trunc('minute', now()) of the latest write)
--   writes        task writes in that minute, refused ones included, for the per-minute limit
--   added         whether the latest insert found room and added a task: an upsert's RETURNING
--                 sees only the new row, so the decision it made from the old one is kept here
CREATE TABLE users (
    user_id      text        PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 128),
    tasks        integer     NOT NULL DEFAULT 0 CHECK (tasks >= 0),
    write_minute timestamptz NOT NULL DEFAULT date_trunc('minute', now()),
    writes       integer     NOT NULL DEFAULT 0,
    added        boolean     NOT NULL DEFAULT false
) WITH (fillfactor = 50);

INSERT INTO users (user_id, tasks)
SELECT user_id, count(*) FROM tasks GROUP BY user_id;

-- Task writes are counted in users now; usage_windows keeps the chat turn windows.
DELETE FROM usage_windows WHERE kind = 'write';

CREATE FUNCTION smart_todo_task_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET tasks = greatest(tasks - 1, 0) WHERE user_id = OLD.user_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_deleted_count AFTER DELETE ON tasks
FOR EACH ROW EXECUTE FUNCTION smart_todo_task_deleted();
