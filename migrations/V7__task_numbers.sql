-- Smart Todo schema, version 7: every user numbers their own tasks 1, 2, 3 …, and has a time zone.
--
-- A task's `id` was one identity shared by all users, so a new user's first task could be "task 6".
-- Now `id` is the user's own number: the key is (user_id, id), and `users.last_task_no` holds the
-- highest number the user was ever given. An insert takes the next one in the same update of the
-- user's row that checks the limits (repo::tasks::insert_task), so two concurrent creates wait on
-- that row and get consecutive numbers; the row outlives deletes, so a number is never reused.
--
--   last_task_no  the number of the user's newest task ever created (0: none yet)
--   timezone      the IANA zone date words are read in ("today", "friday"); validated by the API

ALTER TABLE users ADD COLUMN last_task_no bigint NOT NULL DEFAULT 0 CHECK (last_task_no >= 0);
ALTER TABLE users ADD COLUMN timezone text NOT NULL DEFAULT 'UTC'
    CHECK (length(timezone) BETWEEN 1 AND 64);

-- Existing tasks are numbered per user in the order they were created (the old ids' order).
ALTER TABLE tasks ADD COLUMN no bigint;
UPDATE tasks t SET no = n.no
  FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS no FROM tasks) n
 WHERE n.id = t.id;

-- Every owner of a task has a users row since V6; make sure, then record their highest number.
INSERT INTO users (user_id) SELECT DISTINCT user_id FROM tasks ON CONFLICT (user_id) DO NOTHING;
UPDATE users u SET last_task_no = m.last
  FROM (SELECT user_id, max(no) AS last FROM tasks GROUP BY user_id) m
 WHERE m.user_id = u.user_id;

-- Dropping the old id drops the indexes on it (the key, (user_id, id), (user_id, completed, id)).
ALTER TABLE tasks DROP COLUMN id;
ALTER TABLE tasks RENAME COLUMN no TO id;
ALTER TABLE tasks ALTER COLUMN id SET NOT NULL;
ALTER TABLE tasks ADD CONSTRAINT tasks_id_positive CHECK (id > 0);
ALTER TABLE tasks ADD CONSTRAINT tasks_pkey PRIMARY KEY (user_id, id);
CREATE INDEX tasks_user_completed_idx ON tasks (user_id, completed, id);
