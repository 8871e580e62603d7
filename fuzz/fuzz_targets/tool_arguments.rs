//! Tool-argument parsing never panics and never accepts a user id: any JSON is arguments or a
//! refusal the model can read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smart_todo_shared::tools::Tool;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, json)) = data.split_first() else {
        return;
    };
    let tool = Tool::ALL[usize::from(pick) % Tool::ALL.len()];
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) {
        let smuggles_user = value.get("user_id").is_some();
        let accepted = tool.check_arguments(value).is_ok();
        assert!(!(accepted && smuggles_user), "{tool:?} accepted a user_id");
    }
});
