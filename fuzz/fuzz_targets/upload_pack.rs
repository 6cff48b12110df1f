//! Upload-pack requests on any bytes, in both protocols: `parse_upload_request` never panics,
//! an accepted fetch holds at least one want, distinct ids within the limits, and its answers
//! (for any negotiation outcome built from its own ids) frame as valid pkt-lines; an accepted
//! `ls-refs` answers with valid pkt-lines.

#![no_main]

use kura_git::pktline::parse_pkts;
use kura_git::{Negotiated, UploadLimits, UploadProtocol, UploadRequest, parse_upload_request};
use libfuzzer_sys::fuzz_target;

const LIMITS: UploadLimits = UploadLimits { max_wants: 8, max_haves: 8 };

fn distinct<T: Eq + std::hash::Hash>(items: &[T]) -> bool {
    items.iter().collect::<std::collections::HashSet<_>>().len() == items.len()
}

fn check(data: &[u8], protocol: UploadProtocol) {
    let Ok(request) = parse_upload_request(data, protocol, LIMITS) else { return };
    match request {
        UploadRequest::LsRefs(ls_refs) => {
            let refs = [
                (kura_model::ObjectId([1; 20]), "HEAD", Some("refs/heads/main")),
                (kura_model::ObjectId([1; 20]), "refs/heads/main", None),
            ];
            parse_pkts(&ls_refs.answer(refs)).expect("the ls-refs answer is valid pkt-lines");
        }
        UploadRequest::Fetch(fetch) => {
            assert_eq!(fetch.protocol, protocol);
            assert!(!fetch.wants.is_empty(), "a fetch wants something");
            assert!(fetch.wants.len() <= LIMITS.max_wants && fetch.shallow.len() <= LIMITS.max_wants);
            assert!(fetch.haves.len() <= LIMITS.max_haves);
            assert!(distinct(&fetch.wants) && distinct(&fetch.haves) && distinct(&fetch.shallow));
            if protocol == UploadProtocol::V2 {
                assert!(fetch.sideband && !fetch.wants_only);
            }
            parse_pkts(&fetch.cached_pack_head()).expect("the cached-pack head is valid pkt-lines");
            for negotiated in [
                Negotiated::default(),
                Negotiated { common: &fetch.haves, shallow: &fetch.shallow, unshallow: &fetch.wants },
            ] {
                let (kura_git::FetchAnswer::Only(bytes) | kura_git::FetchAnswer::Pack(bytes)) =
                    fetch.answer(&negotiated);
                parse_pkts(&bytes).expect("the answer is valid pkt-lines");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, UploadProtocol::V0);
    check(data, UploadProtocol::V2);
});
