//! The JSON body extractor's parser never panics and answers 400 (not JSON) or 422 (wrong shape)
//! for every body it refuses, for each request body type of the APIs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smart_todo_shared::http::parse_json;

fn check<T: serde::de::DeserializeOwned>(data: &[u8]) {
    if let Err(err) = parse_json::<T>(data) {
        let status = err.status().as_u16();
        assert!(status == 400 || status == 422, "{status}: {err:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    check::<smart_todo_tasks::CreateTask>(data);
    check::<smart_todo_tasks::PatchTask>(data);
    check::<smart_todo_tasks::PutTask>(data);
    check::<smart_todo_chat::ChatRequest>(data);
});
