-- PATCH /api/tasks/{id} {"title": ...} (shared/src/repo.rs update_task: $4 = false, $5 and $6 NULL)
\set id random(:min_id, :max_id)
UPDATE tasks SET title = coalesce(:title, title), description = CASE WHEN false THEN NULL::text ELSE description END, completed = coalesce(NULL::bool, completed), completed_at = CASE WHEN NULL::bool IS NULL THEN completed_at WHEN NULL::bool THEN coalesce(completed_at, now()) ELSE NULL END, updated_at = now() WHERE id = :id AND user_id = :uid RETURNING id, title, description, completed, created_at, updated_at, completed_at;
