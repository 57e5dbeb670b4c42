//! A session message as the session table hands it to a pager user: CPIM
//! unwrapping never panics and never makes content out of nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msrpgw::session::content::to_pager;

fuzz_target!(|data: &[u8]| {
    let p = to_pager(Some("message/cpim"), data);
    assert!(p.body.len() <= data.len());
});
