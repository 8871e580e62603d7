//! The ChatKit request parser never panics: any body is a request or a 4xx.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Err(err) = smart_todo_chat::chatkit::parse_request(value) {
            assert!(err.status().is_client_error(), "{err:?}");
        }
    }
});
