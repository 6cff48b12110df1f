//! Tests for upload-pack request parsing and the negotiation answers.

use super::*;
use crate::pktline::{delim, flush, parse_pkts, pkt_line};

const A: &str = "74730d410fcb6603ace96f1dc55ea6196122532d";
const B: &str = "5a3f6be755bbb7deae50065988cbfa1ffa9ab68a";
const C: &str = "1111111111111111111111111111111111111111";

const LIMITS: UploadLimits = UploadLimits { max_wants: 2, max_haves: 2 };

fn id(hex: &str) -> ObjectId {
    ObjectId::from_hex(hex).unwrap()
}

/// A body of packets: `"|"` is a flush, `"-"` a delimiter, anything else a text line.
fn body(lines: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        match *line {
            "|" => flush(&mut out),
            "-" => delim(&mut out),
            text => pkt_line(&mut out, text),
        }
    }
    out
}

fn fetch(protocol: UploadProtocol, lines: &[&str]) -> FetchRequest {
    match parse_upload_request(&body(lines), protocol, LIMITS).unwrap() {
        UploadRequest::Fetch(fetch) => fetch,
        other => panic!("not a fetch: {other:?}"),
    }
}

fn error(protocol: UploadProtocol, lines: &[&str]) -> String {
    parse_upload_request(&body(lines), protocol, LIMITS).unwrap_err().to_string()
}

fn text_lines(bytes: &[u8]) -> Vec<String> {
    parse_pkts(bytes)
        .unwrap()
        .iter()
        .map(|p| match p {
            Pkt::Data(d) => pktline::text(d).unwrap().to_owned(),
            Pkt::Flush => "|".to_owned(),
            Pkt::Delim => "-".to_owned(),
            Pkt::ResponseEnd => "end".to_owned(),
        })
        .collect()
}

#[test]
fn advertises_v0_refs_and_v2_capabilities() {
    let out = upload_pack_advertisement([(id(A), "HEAD"), (id(B), "refs/heads/main")]);
    let lines = text_lines(&out);
    assert_eq!(lines[0], "# service=git-upload-pack");
    assert_eq!(lines[2], format!("{A} HEAD\0{UPLOAD_PACK_CAPABILITIES}"));
    assert_eq!(lines[3], format!("{B} refs/heads/main"));
    let empty = text_lines(&upload_pack_advertisement([]));
    assert_eq!(empty[2], format!("{ZERO_ID} capabilities^{{}}\0{UPLOAD_PACK_CAPABILITIES}"));
    assert_eq!(text_lines(&upload_pack_advertisement_v2())[0], "version 2");
}

#[test]
fn parses_a_v0_fetch_dropping_repeats() {
    let wants = format!("want {A} multi_ack_detailed side-band-64k ofs-delta");
    let request = fetch(
        UploadProtocol::V0,
        &[&wants, &format!("want {A}"), "|", &format!("have {B}"), &format!("have {B}"), "done"],
    );
    assert_eq!(request.wants, [id(A)]);
    assert_eq!(request.haves, [id(B)]);
    assert!(request.sideband && request.done && !request.wants_only);
    assert!(!request.full_clone());
}

#[test]
fn parses_v2_fetch_and_ls_refs() {
    let request = fetch(
        UploadProtocol::V2,
        &[
            "command=fetch",
            "agent=git/2",
            "-",
            &format!("want {A}"),
            "deepen 1",
            &format!("shallow {B}"),
            "|",
        ],
    );
    assert_eq!((request.wants.clone(), request.shallow.clone()), (vec![id(A)], vec![id(B)]));
    assert_eq!(request.depth, Some(1));
    assert!(request.sideband, "v2 always uses side-band");
    let parsed = parse_upload_request(
        &body(&["command=ls-refs", "-", "symrefs", "ref-prefix refs/heads/", "|"]),
        UploadProtocol::V2,
        LIMITS,
    );
    let expected = LsRefs { prefixes: vec!["refs/heads/".to_owned()], symrefs: true };
    assert_eq!(parsed, Ok(UploadRequest::LsRefs(expected)));
}

#[test]
fn holds_the_limits() {
    let three = [format!("want {A}"), format!("want {B}"), format!("want {C}")];
    let lines: Vec<&str> = three.iter().map(String::as_str).collect();
    assert_eq!(
        error(UploadProtocol::V0, &lines),
        "Too many want lines: this server accepts at most 2 distinct ones per fetch"
    );
    let shallow =
        [format!("want {A}"), format!("shallow {A}"), format!("shallow {B}"), format!("shallow {C}")];
    let lines: Vec<&str> = shallow.iter().map(String::as_str).collect();
    assert!(error(UploadProtocol::V0, &lines).starts_with("Too many shallow lines"));
    // Haves past the limit are ignored, not refused.
    let haves = [format!("want {A}"), format!("have {A}"), format!("have {B}"), format!("have {C}")];
    let lines: Vec<&str> = haves.iter().map(String::as_str).collect();
    assert_eq!(fetch(UploadProtocol::V0, &lines).haves, [id(A), id(B)]);
}

#[test]
fn refuses_malformed_requests() {
    assert_eq!(error(UploadProtocol::V0, &["want nothex", "|"]), "Malformed object id in 'nothex'");
    assert_eq!(error(UploadProtocol::V0, &[&format!("want {A}"), "deepen x"]), "Malformed deepen");
    assert!(error(UploadProtocol::V0, &[&format!("want {A}"), "deepen-since 5"]).starts_with("deepen-since"));
    assert_eq!(error(UploadProtocol::V0, &["|", "done"]), "No objects wanted");
    assert_eq!(error(UploadProtocol::V2, &["command=push", "|"]), "Unknown or missing command");
    assert_eq!(error(UploadProtocol::V2, &[]), "Unknown or missing command");
    let framing = parse_upload_request(b"00", UploadProtocol::V0, LIMITS).unwrap_err();
    assert!(matches!(framing, UploadError::Framing(_)), "{framing}");
}

#[test]
fn answers_v0_negotiation_rounds_and_the_final_request() {
    let common = [id(B)];
    let negotiated = Negotiated { common: &common, ..Negotiated::default() };
    let round = fetch(UploadProtocol::V0, &[&format!("want {A}"), "|", &format!("have {B}")]);
    let FetchAnswer::Only(answer) = round.answer(&negotiated) else { panic!("a round sends no pack") };
    assert_eq!(text_lines(&answer), [format!("ACK {B} common"), "NAK".to_owned()]);
    let done = fetch(UploadProtocol::V0, &[&format!("want {A}"), "|", &format!("have {B}"), "done"]);
    assert_eq!(done.answer(&negotiated), FetchAnswer::Pack(body(&["NAK"])));
    let clone = fetch(UploadProtocol::V0, &[&format!("want {A}"), "|", "done"]);
    assert!(clone.full_clone());
    assert_eq!(clone.cached_pack_head(), body(&["NAK"]));
}

#[test]
fn answers_a_stateless_v0_shallow_fetch_with_the_shallow_list_first() {
    let shallow = [id(C)];
    let negotiated = Negotiated { shallow: &shallow, ..Negotiated::default() };
    let first = fetch(UploadProtocol::V0, &[&format!("want {A}"), "deepen 1", "|"]);
    assert!(first.wants_only);
    assert_eq!(first.answer(&negotiated), FetchAnswer::Only(body(&[&format!("shallow {C}"), "|"])));
    let last = fetch(UploadProtocol::V0, &[&format!("want {A}"), "deepen 1", "|", "done"]);
    assert_eq!(last.answer(&negotiated), FetchAnswer::Pack(body(&[&format!("shallow {C}"), "|", "NAK"])));
}

#[test]
fn answers_v2_fetches() {
    let common = [id(B)];
    let shallow = [id(C)];
    let round =
        fetch(UploadProtocol::V2, &["command=fetch", "-", &format!("want {A}"), &format!("have {B}")]);
    let negotiated = Negotiated { common: &common, ..Negotiated::default() };
    let expected = body(&["acknowledgments", &format!("ACK {B}"), "ready", "-", "packfile"]);
    assert_eq!(round.answer(&negotiated), FetchAnswer::Pack(expected));
    let none = body(&["acknowledgments", "NAK", "ready", "-", "packfile"]);
    assert_eq!(round.answer(&Negotiated::default()), FetchAnswer::Pack(none));
    let deep = fetch(UploadProtocol::V2, &["command=fetch", "-", &format!("want {A}"), "deepen 1", "done"]);
    let negotiated = Negotiated { shallow: &shallow, ..Negotiated::default() };
    let expected = body(&["shallow-info", &format!("shallow {C}"), "-", "packfile"]);
    assert_eq!(deep.answer(&negotiated), FetchAnswer::Pack(expected));
    assert_eq!(deep.cached_pack_head(), body(&["packfile"]));
}

#[test]
fn ls_refs_filters_by_prefix_and_shows_symrefs() {
    let ls_refs = LsRefs { prefixes: vec!["refs/heads/".to_owned(), "HEAD".to_owned()], symrefs: true };
    let refs = [
        (id(A), "HEAD", Some("refs/heads/main")),
        (id(A), "refs/heads/main", None),
        (id(B), "refs/tags/v1", None),
    ];
    let answer = ls_refs.answer(refs);
    assert_eq!(
        text_lines(&answer),
        [format!("{A} HEAD symref-target:refs/heads/main"), format!("{A} refs/heads/main"), "|".to_owned()]
    );
}
