//! Xet: the hub's CAS token answer and the CAS API's JSON (reconstructions, uploads).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Fetch, Reconstruction};

/// `GET .../xet-{read|write}-token/{revision}` (what `hf_xet` reads, and what a mirror reads
/// from its upstream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XetTokenView {
    #[serde(rename = "accessToken")]
    pub access_token: String,
    #[serde(rename = "casUrl")]
    pub cas_url: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

/// `GET /v1/reconstructions/{file}`: the terms of a file (or of a range of it) and where to
/// fetch each xorb range, grouped by xorb (also parsed from a mirror's upstream).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconstructionView {
    pub fetch_info: BTreeMap<String, Vec<FetchInfoView>>,
    pub offset_into_first_range: u64,
    pub terms: Vec<TermView>,
}

/// A term: chunks `range` of xorb `hash`, `unpacked_length` bytes once decompressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermView {
    pub hash: String,
    pub range: RangeView,
    pub unpacked_length: u64,
}

/// A half-open chunk range, or an inclusive byte range in `url_range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeView {
    pub end: u64,
    pub start: u64,
}

/// Where chunks `range` of a xorb are: bytes `url_range` of `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchInfoView {
    pub range: RangeView,
    pub url: String,
    pub url_range: RangeView,
}

impl ReconstructionView {
    /// `cas_url` is the CAS base URL that kura-signed fetch tokens hang off.
    pub fn new(cas_url: &str, plan: &Reconstruction) -> Self {
        let mut terms = Vec::with_capacity(plan.terms.len());
        let mut fetch_info: BTreeMap<String, Vec<FetchInfoView>> = BTreeMap::new();
        for (term, (start, end, fetch)) in plan.terms.iter().zip(&plan.fetches) {
            let url = match fetch {
                Fetch::Direct(url) => url.clone(),
                Fetch::Token(token) => format!("{cas_url}/fetch/{token}"),
            };
            let hash = term.xorb.to_hex();
            let range = RangeView { end: term.end.into(), start: term.start.into() };
            fetch_info.entry(hash.clone()).or_default().push(FetchInfoView {
                range,
                url,
                url_range: RangeView { end: *end, start: *start },
            });
            terms.push(TermView { hash, range, unpacked_length: term.unpacked });
        }
        Self { fetch_info, offset_into_first_range: plan.offset_into_first_range, terms }
    }
}

/// `GET /v2/reconstructions/{file}`: the same terms, and where to fetch them grouped by xorb.
/// Each entry is one term's signed URL with its one range (`chunks` half-open, `bytes`
/// inclusive): the signature covers exactly that range, and clients fetch an entry of one
/// range with one single-range GET (huggingface.js only speaks v2; hf_xet tries it first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconstructionV2View {
    pub offset_into_first_range: u64,
    pub terms: Vec<TermView>,
    pub xorbs: BTreeMap<String, Vec<XorbFetchView>>,
}

/// Where some chunks of a xorb are: `ranges` of `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XorbFetchView {
    pub ranges: Vec<XorbRangeView>,
    pub url: String,
}

/// Chunks `chunks` of a xorb (half-open) are bytes `bytes` (inclusive) of its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct XorbRangeView {
    pub bytes: RangeView,
    pub chunks: RangeView,
}

impl From<ReconstructionView> for ReconstructionV2View {
    fn from(v1: ReconstructionView) -> Self {
        let xorbs = v1
            .fetch_info
            .into_iter()
            .map(|(hash, fetches)| {
                let entries = fetches
                    .into_iter()
                    .map(|fetch| XorbFetchView {
                        ranges: vec![XorbRangeView { bytes: fetch.url_range, chunks: fetch.range }],
                        url: fetch.url,
                    })
                    .collect();
                (hash, entries)
            })
            .collect();
        Self { offset_into_first_range: v1.offset_into_first_range, terms: v1.terms, xorbs }
    }
}

/// `POST /v1/xorbs/...`: whether the xorb was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct XorbUploadView {
    pub was_inserted: bool,
}

/// `POST /v1/shards`: `result` 1 when the shard registered new files, else 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ShardUploadView {
    pub result: u8,
}
