-- POST /api/tasks (shared/src/repo.rs insert_task)
INSERT INTO tasks (user_id, id, title, description) VALUES (:uid, nextval('bench_task_no'), :title, :description) RETURNING id, title, description, completed, created_at, updated_at, completed_at;
