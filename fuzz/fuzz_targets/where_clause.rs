//! The dataset viewer's `/filter` grammar on attacker-chosen text: parsing stays within its
//! budgets and evaluation against a row finishes, whatever the clause; nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kura_formats::viewer::filter::fuzz_filter(data);
});
