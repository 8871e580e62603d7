-- Smart Todo schema, version 9: priorities, lists, tags, search, and the keys the views sort on.
--
-- lists: a user's own lists. The Inbox is not a row: a task on no list (list_id NULL) is in the
-- Inbox, so deleting a list moves its tasks there by the foreign key alone.
--   key        the name in lower case: names are unique per user ignoring case
--
-- tasks:
--   priority   0 none, 1 low, 2 medium, 3 high (higher sorts first by default)
--   tags       at most 10, each 1–32 characters in lower case (checked by the API)
--   list_id    the list the task is on; NULL for the Inbox
--   due_sort   the local date and time the task is due at (00:00 for a date without a time),
--              '9999-12-31 23:59:59' without a date: the key of the due sort and of the views
--   search     title (weight A) and description (weight B) words, folded to lower case without
--              accents, for `q`

-- Lower case without accents: "Crème Brûlée" → "creme brulee". NFD splits a letter from its
-- combining marks (U+0300–U+036F), which are then dropped. Not STRICT, so that PostgreSQL inlines
-- it into the statement instead of running it as a query of its own (NULL gives NULL anyway).
CREATE FUNCTION smart_todo_fold(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT regexp_replace(normalize(lower($1), NFD), '[\u0300-\u036f]', '', 'g') $$;

-- The date it is now in `zone`, or in UTC when PostgreSQL's tz database lacks the name (the API
-- validates zones against the tz database in the binary, which may be newer). PARALLEL UNSAFE:
-- the exception block is a subtransaction, which a parallel plan may not start.
CREATE FUNCTION smart_todo_today(zone text) RETURNS date
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
AS $$
BEGIN
    RETURN (now() AT TIME ZONE coalesce(zone, 'UTC'))::date;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN (now() AT TIME ZONE 'UTC')::date;
END
$$;

CREATE TABLE lists (
    user_id    text        NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
    id         bigint      GENERATED ALWAYS AS IDENTITY,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
    key        text        GENERATED ALWAYS AS (lower(name)) STORED,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, id),
    UNIQUE (user_id, key)
);

-- At most 200 lists per user, however they are created (by name on a task, or POST /api/lists).
-- The SQLSTATE tells the API it is a limit, not a bug.
CREATE FUNCTION smart_todo_list_added() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- An insert of a name the user has already becomes an update (ON CONFLICT): no new list.
    IF NOT EXISTS (SELECT 1 FROM lists WHERE user_id = NEW.user_id AND key = lower(NEW.name))
       AND (SELECT count(*) FROM lists WHERE user_id = NEW.user_id) >= 200 THEN
        RAISE EXCEPTION 'a user has at most 200 lists' USING ERRCODE = 'ST002';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER lists_limit BEFORE INSERT ON lists
FOR EACH ROW EXECUTE FUNCTION smart_todo_list_added();

ALTER TABLE tasks
    ADD COLUMN priority smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 3),
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 10),
    ADD COLUMN list_id bigint,
    ADD COLUMN due_sort timestamp GENERATED ALWAYS AS (
        coalesce(due_date + coalesce(due_time, time '00:00'), timestamp '9999-12-31 23:59:59')
    ) STORED,
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, smart_todo_fold(title)), 'A')
        || setweight(to_tsvector('simple'::regconfig, coalesce(smart_todo_fold(description), '')), 'B')
    ) STORED,
    ADD CONSTRAINT tasks_list_fk FOREIGN KEY (user_id, list_id)
        REFERENCES lists (user_id, id) ON DELETE SET NULL (list_id);

-- The views and the due sort: a user's pending (or completed) tasks in due order; with `due_at`,
-- the sidebar's counts read only this index.
CREATE INDEX tasks_user_due_idx ON tasks (user_id, completed, due_sort, id) INCLUDE (due_at);
-- The due sort and date ranges over every status.
CREATE INDEX tasks_user_due_all_idx ON tasks (user_id, due_sort, id);
-- A list's tasks (and the foreign key's look-up when a list is deleted).
CREATE INDEX tasks_user_list_idx ON tasks (user_id, list_id, completed, id);
-- The other sorts of a user's tasks.
CREATE INDEX tasks_user_priority_idx ON tasks (user_id, completed, priority, id);
CREATE INDEX tasks_user_updated_idx ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_title_idx ON tasks (user_id, lower(title), id);
-- Words and tags.
CREATE INDEX tasks_search_idx ON tasks USING gin (search);
CREATE INDEX tasks_tags_idx ON tasks USING gin (tags);
