-- smart_todo_require(ok, what): raises SQLSTATE ST001 with `what` unless `ok` is true.
--
-- The app sends several statements of a transaction in one round trip (pipelined) and cannot look
-- at one's answer before the next runs. A statement the others depend on (a chat turn still
-- holding its lease) therefore guards them in SQL: when its condition fails it raises, the
-- transaction aborts, and the COMMIT sent behind it rolls back instead.
CREATE FUNCTION smart_todo_require(ok boolean, what text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = 'ST001', MESSAGE = what;
    END IF;
    RETURN true;
END
$$;
