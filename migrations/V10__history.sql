-- Smart Todo schema, version 10: the history of every change to a task, a trash, and undo.
--
-- task_events: one row per change, written by the triggers below in the statement that makes the
-- change, so a change and its record commit together or not at all.
--   kind        created, updated, completed, reopened, deleted, restored or moved
--   source      where the change came from: rest, ui (the web app), mcp or chat
--   turn_id     the chat turn that made it (chat only)
--   xact        the transaction that made it: the events one request made share it
--   undoes      the event this one reversed (a change made by undo)
--   undone_by   the event that reversed this one; NULL while it is in effect
--   before      the fields the change replaced, as they were (NULL for a create or a restore)
--   after       the fields it wrote (NULL for a delete). A create, restore or delete carries every
--               field. Fields are named as the columns; instants are UTC without an offset, so
--               that two sessions in different time zones write the same text.
--
-- trash: a deleted task, with its number, for 30 days. Deleting moves the row here (and so out of
-- every listing and count); restoring moves it back. Each delete sweeps the user's older ones.
--
-- tasks.via*: how a write says where it comes from. Each write of the API sets them; the trigger
-- copies them into the event and clears them, so they hold nothing between writes. A write that
-- sets no `via` (a seed in a test or a benchmark) records nothing.
--   via          the source (as task_events.source)
--   via_turn     the chat turn
--   via_undo     the event this write reverses
--   via_restore  the insert brings a task back from the trash

CREATE TABLE task_events (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    text        NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
    task_id    bigint      NOT NULL,
    kind       text        NOT NULL CHECK (kind IN
                   ('created', 'updated', 'completed', 'reopened', 'deleted', 'restored', 'moved')),
    source     text        NOT NULL CHECK (source IN ('rest', 'ui', 'mcp', 'chat')),
    turn_id    uuid,
    xact       bigint      NOT NULL DEFAULT txid_current(),
    undoes     bigint,
    undone_by  bigint,
    before     jsonb,
    after      jsonb,
    at         timestamptz NOT NULL DEFAULT now()
);

-- A user's history, newest first; one task's; one turn's and one transaction's (what undo reverses).
CREATE INDEX task_events_user_idx ON task_events (user_id, id);
CREATE INDEX task_events_task_idx ON task_events (user_id, task_id, id);
CREATE INDEX task_events_turn_idx ON task_events (user_id, turn_id) WHERE turn_id IS NOT NULL;
CREATE INDEX task_events_xact_idx ON task_events (user_id, xact);

CREATE TABLE trash (
    user_id           text        NOT NULL,
    id                bigint      NOT NULL,
    title             text        NOT NULL,
    description       text,
    completed         boolean     NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    completed_at      timestamptz,
    due_date          date,
    due_time          time,
    due_tz            text,
    due_at            timestamptz,
    due_rule          text,
    last_completed_at timestamptz,
    priority          smallint    NOT NULL,
    tags              text[]      NOT NULL,
    -- No foreign key: the list may be deleted while the task is in the trash (a restore then
    -- puts it in the Inbox).
    list_id           bigint,
    deleted_at        timestamptz NOT NULL DEFAULT now(),
    deleted_via       text        NOT NULL,
    deleted_turn      uuid,
    deleted_undo      bigint,
    PRIMARY KEY (user_id, id)
);

CREATE INDEX trash_user_deleted_idx ON trash (user_id, deleted_at, id);

ALTER TABLE tasks
    ADD COLUMN via text,
    ADD COLUMN via_turn uuid,
    ADD COLUMN via_undo bigint,
    ADD COLUMN via_restore boolean NOT NULL DEFAULT false;

-- The fields of a task that history records and undo restores.
CREATE FUNCTION smart_todo_fields(
    title text, description text, completed boolean, completed_at timestamptz,
    due_date date, due_time time, due_tz text, due_at timestamptz, due_rule text,
    last_completed_at timestamptz, priority smallint, tags text[], list_id bigint
) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
        'title', title, 'description', description, 'completed', completed,
        'completed_at', completed_at AT TIME ZONE 'UTC',
        'due_date', due_date, 'due_time', due_time, 'due_tz', due_tz,
        'due_at', due_at AT TIME ZONE 'UTC', 'due_rule', due_rule,
        'last_completed_at', last_completed_at AT TIME ZONE 'UTC',
        'priority', priority, 'tags', to_jsonb(tags), 'list_id', list_id)
$$;

CREATE FUNCTION smart_todo_fields_of(t tasks) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT smart_todo_fields(t.title, t.description, t.completed, t.completed_at, t.due_date,
        t.due_time, t.due_tz, t.due_at, t.due_rule, t.last_completed_at, t.priority, t.tags,
        t.list_id)
$$;

-- Whether `fields` (a task's) still hold every value `written` (an event's `after`) wrote: undo
-- reverses a change only while nothing later overwrote it.
CREATE FUNCTION smart_todo_unchanged(fields jsonb, written jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT NOT EXISTS (
        SELECT 1 FROM jsonb_each(coalesce(written, '{}')) w
         WHERE fields -> w.key IS DISTINCT FROM w.value)
$$;

-- Records an insert or an update of a task that says where it comes from, and clears the `via`
-- columns. Runs before the row is written, so NEW is what will be stored (the generated columns
-- aside, which history does not record).
CREATE FUNCTION smart_todo_task_written() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    now_fields jsonb;
    was        jsonb;
    before     jsonb := '{}';
    after      jsonb := '{}';
    k          text;
    kind       text;
    event      bigint;
BEGIN
    IF NEW.via IS NULL THEN
        NEW.via_turn := NULL;
        NEW.via_undo := NULL;
        NEW.via_restore := false;
        RETURN NEW;
    END IF;
    now_fields := smart_todo_fields_of(NEW);
    IF TG_OP = 'INSERT' THEN
        kind := CASE WHEN NEW.via_restore THEN 'restored' ELSE 'created' END;
        before := NULL;
        after := now_fields;
    ELSE
        was := smart_todo_fields_of(OLD);
        FOR k IN SELECT jsonb_object_keys(now_fields) LOOP
            IF now_fields -> k IS DISTINCT FROM was -> k THEN
                before := before || jsonb_build_object(k, was -> k);
                after := after || jsonb_build_object(k, now_fields -> k);
            END IF;
        END LOOP;
        -- A due is read whole: a change of any of its columns records all five.
        IF EXISTS (SELECT 1 FROM jsonb_object_keys(after) c WHERE c LIKE 'due\_%') THEN
            FOREACH k IN ARRAY ARRAY['due_date', 'due_time', 'due_tz', 'due_at', 'due_rule'] LOOP
                before := before || jsonb_build_object(k, was -> k);
                after := after || jsonb_build_object(k, now_fields -> k);
            END LOOP;
        END IF;
        kind := CASE
            WHEN after = '{}' THEN NULL
            WHEN after ? 'completed' AND NEW.completed THEN 'completed'
            WHEN after ? 'completed' THEN 'reopened'
            -- A recurring task's completion moves it on and records when.
            WHEN after ? 'last_completed_at' AND NEW.last_completed_at IS NOT NULL
                 AND (OLD.last_completed_at IS NULL OR NEW.last_completed_at > OLD.last_completed_at)
                THEN 'completed'
            WHEN after - 'list_id' = '{}' THEN 'moved'
            ELSE 'updated'
        END;
    END IF;
    IF kind IS NOT NULL THEN
        INSERT INTO task_events (user_id, task_id, kind, source, turn_id, undoes, before, after)
        VALUES (NEW.user_id, NEW.id, kind, NEW.via, NEW.via_turn, NEW.via_undo, before, after)
        RETURNING id INTO event;
        IF NEW.via_undo IS NOT NULL THEN
            UPDATE task_events SET undone_by = event
             WHERE user_id = NEW.user_id AND id = NEW.via_undo;
        END IF;
    END IF;
    NEW.via := NULL;
    NEW.via_turn := NULL;
    NEW.via_undo := NULL;
    NEW.via_restore := false;
    RETURN NEW;
END
$$;

CREATE TRIGGER tasks_history BEFORE INSERT OR UPDATE ON tasks
FOR EACH ROW EXECUTE FUNCTION smart_todo_task_written();

-- Records a task's move to the trash (its delete).
CREATE FUNCTION smart_todo_task_trashed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    event bigint;
BEGIN
    INSERT INTO task_events (user_id, task_id, kind, source, turn_id, undoes, before, after)
    VALUES (NEW.user_id, NEW.id, 'deleted', NEW.deleted_via, NEW.deleted_turn, NEW.deleted_undo,
        smart_todo_fields(NEW.title, NEW.description, NEW.completed, NEW.completed_at,
            NEW.due_date, NEW.due_time, NEW.due_tz, NEW.due_at, NEW.due_rule,
            NEW.last_completed_at, NEW.priority, NEW.tags, NEW.list_id),
        NULL)
    RETURNING id INTO event;
    IF NEW.deleted_undo IS NOT NULL THEN
        UPDATE task_events SET undone_by = event
         WHERE user_id = NEW.user_id AND id = NEW.deleted_undo;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER trash_history AFTER INSERT ON trash
FOR EACH ROW EXECUTE FUNCTION smart_todo_task_trashed();

-- Reverses the changes of one turn (`turn`), or else the user's latest change (every event its
-- transaction or turn made), newest first, in one statement, as `source` (and `by_turn`, the chat
-- turn asking). Answers the events reversed, or why nothing was: a change a later one overwrote, a
-- task gone from the trash, no room for a restored task (`max_tasks`). Then nothing is changed.
-- An undo is a change like any other: it is recorded, and undoing it again redoes what it undid.
CREATE FUNCTION smart_todo_undo(
    p_user text, p_turn uuid, p_source text, p_by_turn uuid, p_max_tasks bigint
) RETURNS TABLE (undone bigint[], reason text)
LANGUAGE plpgsql AS $$
DECLARE
    g_turn uuid;
    g_xact bigint;
    e      record;
    ids    bigint[] := '{}';
    n      integer;
    f      jsonb;
BEGIN
    -- No user: the statement calling this found the user over a limit.
    IF p_user IS NULL THEN
        RETURN;
    END IF;
    IF p_turn IS NULL THEN
        SELECT ev.turn_id, ev.xact INTO g_turn, g_xact FROM task_events ev
         WHERE ev.user_id = p_user AND ev.undone_by IS NULL ORDER BY ev.id DESC LIMIT 1;
        IF NOT FOUND THEN
            RETURN QUERY SELECT '{}'::bigint[], 'there is nothing to undo'::text;
            RETURN;
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM task_events ev
                       WHERE ev.user_id = p_user AND ev.turn_id = p_turn) THEN
        -- NULL: no such turn of this user's changed anything (another user's is none of theirs).
        RETURN QUERY SELECT NULL::bigint[], 'no task was changed in that turn'::text;
        RETURN;
    ELSE
        g_turn := p_turn;
    END IF;
    BEGIN
        FOR e IN SELECT * FROM task_events ev
                  WHERE ev.user_id = p_user AND ev.undone_by IS NULL
                    AND CASE WHEN g_turn IS NOT NULL THEN ev.turn_id = g_turn
                             ELSE ev.turn_id IS NULL AND ev.xact = g_xact END
                  ORDER BY ev.id DESC
        LOOP
            IF e.kind IN ('created', 'restored') THEN
                WITH gone AS (
                    DELETE FROM tasks t WHERE t.user_id = p_user AND t.id = e.task_id
                       AND smart_todo_unchanged(smart_todo_fields_of(t), e.after)
                    RETURNING t.*)
                INSERT INTO trash (user_id, id, title, description, completed, created_at,
                    updated_at, completed_at, due_date, due_time, due_tz, due_at, due_rule,
                    last_completed_at, priority, tags, list_id, deleted_via, deleted_turn,
                    deleted_undo)
                SELECT user_id, id, title, description, completed, created_at, now(),
                    completed_at, due_date, due_time, due_tz, due_at, due_rule,
                    last_completed_at, priority, tags, list_id, p_source, p_by_turn, e.id
                  FROM gone;
                GET DIAGNOSTICS n = ROW_COUNT;
            ELSIF e.kind = 'deleted' THEN
                UPDATE users SET tasks = tasks + 1
                 WHERE user_id = p_user AND tasks < p_max_tasks;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n = 0 THEN
                    RAISE EXCEPTION USING ERRCODE = 'ST004', MESSAGE = format(
                        'task %s cannot come back: you have as many tasks as allowed', e.task_id);
                END IF;
                WITH back AS (
                    DELETE FROM trash WHERE user_id = p_user AND id = e.task_id RETURNING *)
                INSERT INTO tasks (user_id, id, title, description, completed, created_at,
                    updated_at, completed_at, due_date, due_time, due_tz, due_at, due_rule,
                    last_completed_at, priority, tags, list_id, via, via_turn, via_undo,
                    via_restore)
                SELECT user_id, id, title, description, completed, created_at, now(),
                    completed_at, due_date, due_time, due_tz, due_at, due_rule,
                    last_completed_at, priority, tags,
                    (SELECT l.id FROM lists l WHERE l.user_id = p_user AND l.id = back.list_id),
                    p_source, p_by_turn, e.id, true
                  FROM back;
                GET DIAGNOSTICS n = ROW_COUNT;
                IF n = 0 THEN
                    RAISE EXCEPTION USING ERRCODE = 'ST004', MESSAGE = format(
                        'task %s is no longer in the trash', e.task_id);
                END IF;
            ELSE
                f := e.before;
                UPDATE tasks t SET
                    title = CASE WHEN f ? 'title' THEN f ->> 'title' ELSE t.title END,
                    description = CASE WHEN f ? 'description' THEN f ->> 'description'
                        ELSE t.description END,
                    completed = CASE WHEN f ? 'completed' THEN (f ->> 'completed')::boolean
                        ELSE t.completed END,
                    completed_at = CASE WHEN f ? 'completed_at'
                        THEN (f ->> 'completed_at')::timestamp AT TIME ZONE 'UTC'
                        ELSE t.completed_at END,
                    due_date = CASE WHEN f ? 'due_date' THEN (f ->> 'due_date')::date
                        ELSE t.due_date END,
                    due_time = CASE WHEN f ? 'due_time' THEN (f ->> 'due_time')::time
                        ELSE t.due_time END,
                    due_tz = CASE WHEN f ? 'due_tz' THEN f ->> 'due_tz' ELSE t.due_tz END,
                    due_at = CASE WHEN f ? 'due_at'
                        THEN (f ->> 'due_at')::timestamp AT TIME ZONE 'UTC' ELSE t.due_at END,
                    due_rule = CASE WHEN f ? 'due_rule' THEN f ->> 'due_rule' ELSE t.due_rule END,
                    last_completed_at = CASE WHEN f ? 'last_completed_at'
                        THEN (f ->> 'last_completed_at')::timestamp AT TIME ZONE 'UTC'
                        ELSE t.last_completed_at END,
                    priority = CASE WHEN f ? 'priority' THEN (f ->> 'priority')::smallint
                        ELSE t.priority END,
                    tags = CASE WHEN f ? 'tags'
                        THEN ARRAY(SELECT jsonb_array_elements_text(f -> 'tags')) ELSE t.tags END,
                    -- A list deleted since: the Inbox.
                    list_id = CASE WHEN f ? 'list_id' THEN (SELECT l.id FROM lists l
                        WHERE l.user_id = p_user AND l.id = (f ->> 'list_id')::bigint)
                        ELSE t.list_id END,
                    updated_at = now(),
                    via = p_source, via_turn = p_by_turn, via_undo = e.id
                 WHERE t.user_id = p_user AND t.id = e.task_id
                   AND smart_todo_unchanged(smart_todo_fields_of(t), e.after);
                GET DIAGNOSTICS n = ROW_COUNT;
            END IF;
            IF n = 0 THEN
                IF EXISTS (SELECT 1 FROM tasks WHERE user_id = p_user AND id = e.task_id) THEN
                    RAISE EXCEPTION USING ERRCODE = 'ST004', MESSAGE = format(
                        'task %s was changed after that; undo the later change first', e.task_id);
                ELSE
                    RAISE EXCEPTION USING ERRCODE = 'ST004', MESSAGE = format(
                        'task %s was deleted after that; restore it first', e.task_id);
                END IF;
            END IF;
            -- A reversal that changed nothing (a move back to a list deleted since) records no event
            -- to mark this one: it is undone all the same, or undo would answer it forever.
            UPDATE task_events SET undone_by = e.id
             WHERE user_id = p_user AND id = e.id AND undone_by IS NULL;
            ids := ids || e.id;
        END LOOP;
    EXCEPTION WHEN SQLSTATE 'ST004' THEN
        -- The block's changes are rolled back with it.
        RETURN QUERY SELECT '{}'::bigint[], SQLERRM;
        RETURN;
    END;
    IF cardinality(ids) = 0 THEN
        RETURN QUERY SELECT ids, 'everything that changed has been undone already'::text;
        RETURN;
    END IF;
    RETURN QUERY SELECT ids, NULL::text;
END
$$;
