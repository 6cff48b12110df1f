//! Tests for the receive-pack advertisement, request parsing and report-status.

use super::*;
use crate::pktline::{BAND_ERROR, parse_pkts, pkt, pkt_line, sideband};

const A: &str = "74730d410fcb6603ace96f1dc55ea6196122532d";
const B: &str = "5a3f6be755bbb7deae50065988cbfa1ffa9ab68a";
const ZERO: &str = "0000000000000000000000000000000000000000";

fn id(hex: &str) -> ObjectId {
    ObjectId::from_hex(hex).unwrap()
}

fn request(lines: &[&str], tail: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        pkt_line(&mut out, line);
    }
    pktline::flush(&mut out);
    out.extend_from_slice(tail);
    out
}

fn parse_err(body: &[u8]) -> String {
    parse_receive_request(body).unwrap_err().to_string()
}

#[test]
fn advertises_refs_with_capabilities_on_the_first_line() {
    let out = receive_pack_advertisement([(id(A), "refs/heads/main"), (id(B), "refs/tags/v1")]);
    let pkts = parse_pkts(&out).unwrap();
    assert_eq!(pkts[0], Pkt::Data(b"# service=git-receive-pack\n"));
    assert_eq!(pkts[1], Pkt::Flush);
    let first = format!("{A} refs/heads/main\0{RECEIVE_PACK_CAPABILITIES}\n");
    assert_eq!(pkts[2], Pkt::Data(first.as_bytes()));
    assert_eq!(pkts[3], Pkt::Data(format!("{B} refs/tags/v1\n").as_bytes()));
    assert_eq!(pkts[4], Pkt::Flush);
    assert_eq!(pkts.len(), 5);
    assert!(out.starts_with(b"001f# service=git-receive-pack\n0000"));
}

#[test]
fn advertises_an_empty_repo_with_the_capabilities_line() {
    let out = receive_pack_advertisement([]);
    let pkts = parse_pkts(&out).unwrap();
    let line = format!("{ZERO} capabilities^{{}}\0{RECEIVE_PACK_CAPABILITIES}\n");
    assert_eq!(pkts[2], Pkt::Data(line.as_bytes()));
    assert_eq!(pkts.len(), 4);
}

#[test]
fn parses_the_spec_example_with_capabilities_and_pack() {
    let first = format!("{B} {A} refs/heads/debug\0 report-status side-band-64k quiet agent=git/2.47.3");
    let second = format!("{A} {B} refs/heads/master");
    let body = request(&[&first, &second], b"PACK...");
    let parsed = parse_receive_request(&body).unwrap().unwrap();
    assert_eq!(
        parsed.commands,
        vec![
            RefUpdate { old: id(B), new: id(A), name: "refs/heads/debug".into() },
            RefUpdate { old: id(A), new: id(B), name: "refs/heads/master".into() },
        ]
    );
    let caps = &parsed.capabilities;
    assert!(caps.report_status && caps.side_band_64k && caps.quiet);
    assert!(!caps.atomic && !caps.report_status_v2 && !caps.push_options);
    assert_eq!(caps.agent.as_deref(), Some("git/2.47.3"));
    assert_eq!(&body[parsed.pack_offset..], b"PACK...");
    assert!(parsed.expects_pack());
}

#[test]
fn deletes_need_no_pack_and_creates_are_recognised() {
    let body = request(&[&format!("{A} {ZERO} refs/heads/old\0report-status-v2 atomic delete-refs")], b"");
    let parsed = parse_receive_request(&body).unwrap().unwrap();
    assert!(parsed.commands[0].is_delete() && !parsed.commands[0].is_create());
    assert!(!parsed.expects_pack());
    assert!(parsed.capabilities.report_status_v2 && parsed.capabilities.atomic);
    assert_eq!(parsed.pack_offset, body.len());
    let create = RefUpdate { old: id(ZERO), new: id(A), name: "refs/heads/new".into() };
    assert!(create.is_create() && !create.is_delete());
}

#[test]
fn reads_shallow_lines_and_push_options() {
    let mut body = request(
        &[
            &format!("shallow {A}"),
            &format!("{ZERO} {B} refs/heads/x\0report-status push-options object-format=sha1"),
        ],
        b"",
    );
    pkt_line(&mut body, "ci.skip");
    pkt(&mut body, b"reason=two words");
    pktline::flush(&mut body);
    body.extend_from_slice(b"PACK");
    let parsed = parse_receive_request(&body).unwrap().unwrap();
    assert_eq!(parsed.shallow, vec![id(A)]);
    assert_eq!(parsed.push_options, vec!["ci.skip".to_owned(), "reason=two words".to_owned()]);
    assert_eq!(&body[parsed.pack_offset..], b"PACK");
}

#[test]
fn incomplete_input_asks_for_more() {
    let mut body = request(&[&format!("{ZERO} {B} refs/heads/x\0push-options")], b"");
    pkt_line(&mut body, "opt");
    for cut in [0, 3, 10, body.len() - 4, body.len()] {
        assert_eq!(parse_receive_request(&body[..cut]).unwrap(), None, "cut at {cut}");
    }
    pktline::flush(&mut body);
    assert!(parse_receive_request(&body).unwrap().is_some());
    // A lone flush: no commands at all.
    let empty = parse_receive_request(b"0000").unwrap().unwrap();
    assert!(empty.commands.is_empty() && !empty.expects_pack());
}

#[test]
fn rejects_malformed_command_lines() {
    let cases: Vec<(String, &str)> = vec![
        (format!("{A} {B}"), "expected '<old-id> <new-id> <ref>'"),
        (format!("{A}{B} refs/heads/x"), "expected"),
        (format!("{} {B} refs/heads/x", &A[..39]), "not a 40-hex object id"),
        (format!("{}g {B} refs/heads/x", &A[..39]), "not a 40-hex object id"),
        (format!("{A} {B}  refs/heads/x"), "does not start with refs/"),
        (format!("{A} {B} HEAD"), "does not start with refs/"),
        (format!("{A} {B} refs/heads/a..b"), "contains .."),
        (format!("{A} {B} refs/heads/x.lock"), ".lock"),
        (format!("{A} {B} refs/heads/x\0side-band"), "side-band"),
        (format!("{A} {B} refs/heads/x\0object-format=sha256"), "sha1"),
        ("push-cert\0report-status".to_owned(), "push certificates"),
    ];
    for (line, why) in cases {
        let error = parse_err(&request(&[&line], b""));
        assert!(error.contains(why), "{line:?}: {error} should mention {why}");
    }
}

#[test]
fn rejects_bad_request_structure() {
    let first = format!("{ZERO} {A} refs/heads/x\0report-status");
    let again = format!("{A} {B} refs/heads/x");
    assert!(parse_err(&request(&[&first, &again], b"")).contains("updated twice"));
    let with_caps = format!("{ZERO} {A} refs/heads/y\0quiet");
    assert!(parse_err(&request(&[&first, &with_caps], b"")).contains("only allowed on the first"));
    let late_shallow = format!("shallow {A}");
    assert!(parse_err(&request(&[&first, &late_shallow], b"")).contains("shallow line after"));
    let mut delim = Vec::new();
    pkt_line(&mut delim, &first);
    pktline::delim(&mut delim);
    assert!(parse_err(&delim).contains("special packet"));
    let mut binary = Vec::new();
    pkt(&mut binary, b"\xff\xfe");
    assert!(parse_err(&binary).contains("UTF-8"));
    assert!(parse_err(b"zzzz").contains("pkt-line"));
    let mut options = request(&[&format!("{ZERO} {A} refs/heads/x\0push-options")], b"");
    pkt(&mut options, b"bad\x01option");
    pktline::flush(&mut options);
    assert!(parse_err(&options).contains("control character"));
}

#[test]
fn reports_status_without_side_band() {
    let caps = ReceiveCapabilities { report_status: true, ..Default::default() };
    let results = [
        RefUpdateResult { name: "refs/heads/debug".into(), error: None },
        RefUpdateResult { name: "refs/heads/master".into(), error: Some("non-fast-forward".into()) },
    ];
    let out = report_status(&caps, Ok(()), &results);
    // The exact bytes of the protocol documentation's example.
    assert_eq!(
        out,
        b"000eunpack ok\n0018ok refs/heads/debug\n002ang refs/heads/master non-fast-forward\n0000"
    );
}

#[test]
fn reports_status_inside_side_band_one_then_flush() {
    let caps = ReceiveCapabilities { report_status_v2: true, side_band_64k: true, ..Default::default() };
    let results = [RefUpdateResult { name: "refs/heads/main".into(), error: Some("multi\nline".into()) }];
    let out = report_status(&caps, Err("index-pack failed\n"), &results);
    let pkts = parse_pkts(&out).unwrap();
    assert_eq!(pkts.len(), 2);
    assert_eq!(pkts[1], Pkt::Flush);
    let Pkt::Data(band) = pkts[0] else { panic!("expected data") };
    assert_eq!(band[0], BAND_DATA);
    let inner = parse_pkts(&band[1..]).unwrap();
    assert_eq!(
        inner,
        vec![
            Pkt::Data(b"unpack index-pack failed\n"),
            Pkt::Data(b"ng refs/heads/main multi line\n"),
            Pkt::Flush
        ]
    );
}

#[test]
fn no_report_requested_sends_nothing_or_a_flush() {
    let none = ReceiveCapabilities::default();
    assert!(report_status(&none, Ok(()), &[]).is_empty());
    let band = ReceiveCapabilities { side_band_64k: true, ..Default::default() };
    assert_eq!(report_status(&band, Ok(()), &[]), b"0000");
    // An empty or "ok" error message would read as success; it is replaced.
    let caps = ReceiveCapabilities { report_status: true, ..Default::default() };
    let out = report_status(&caps, Err("ok"), &[]);
    assert!(out.starts_with(b"0019unpack unpack failed\n"));
}

#[test]
fn progress_goes_to_band_two_unless_quiet() {
    let caps = ReceiveCapabilities { side_band_64k: true, ..Default::default() };
    assert_eq!(caps.progress("Resolving deltas\n"), b"0016\x02Resolving deltas\n");
    let quiet = ReceiveCapabilities { side_band_64k: true, quiet: true, ..Default::default() };
    assert!(quiet.progress("x").is_empty());
    assert!(ReceiveCapabilities::default().progress("x").is_empty());
    let mut fatal = Vec::new();
    sideband(&mut fatal, BAND_ERROR, b"out of space");
    assert_eq!(fatal, b"0011\x03out of space");
}
