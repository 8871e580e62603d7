-- Smart Todo schema, version 8: due dates, with an optional time, in a zone, optionally recurring.
--
--   due_date           the local date the task is due on, in due_tz
--   due_time           the local time of day; NULL for an all-day task
--   due_tz             the IANA zone due_date and due_time are in (the user's when the task was dated)
--   due_at             the instant of due_date + due_time in due_tz (NULL without a time): what views
--                      and reminders compare with now()
--   due_rule           an RRULE body such as FREQ=WEEKLY;BYDAY=MO; completing the task moves the due
--                      to the next occurrence instead (the task stays pending)
--   last_completed_at  when a recurring task was last completed (it never stays completed)
ALTER TABLE tasks
    ADD COLUMN due_date date,
    ADD COLUMN due_time time,
    ADD COLUMN due_tz text CHECK (length(due_tz) BETWEEN 1 AND 64),
    ADD COLUMN due_at timestamptz,
    ADD COLUMN due_rule text CHECK (length(due_rule) BETWEEN 1 AND 200),
    ADD COLUMN last_completed_at timestamptz,
    ADD CONSTRAINT tasks_due_whole CHECK (
        (due_date IS NULL) = (due_tz IS NULL)
        AND (due_time IS NULL) = (due_at IS NULL)
        AND (due_date IS NOT NULL OR (due_time IS NULL AND due_rule IS NULL))
    );
