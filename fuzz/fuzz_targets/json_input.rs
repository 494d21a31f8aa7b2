//! The evaluated-JSON input (`check`/`render --input`): bytes as the CLI
//! reads them, through parsing, the typed document, the policy, every
//! output format and, when the check passes, every artifact.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    secure_mattermost_fuzz::init();
    secure_mattermost_fuzz::json_input(data);
});
